package dev.pgnotify.camel;

import java.util.Map;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.MultipleConsumersSupport;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.EndpointServiceLocation;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriPath;
import org.apache.camel.support.DefaultEndpoint;
import org.apache.camel.util.URISupport;

/**
 * Send and receive messages through PostgreSQL: a durable queue table woken by LISTEN/NOTIFY, or plain
 * LISTEN/NOTIFY.
 */
@UriEndpoint(firstVersion = "0.1.0", scheme = "pgnotify", title = "PostgreSQL Notify",
             syntax = "pgnotify:channel", category = { Category.DATABASE, Category.MESSAGING },
             headersClass = PgNotifyConstants.class)
public class PgNotifyEndpoint extends DefaultEndpoint implements MultipleConsumersSupport, EndpointServiceLocation {

    @UriPath(description = "The channel: the LISTEN/NOTIFY channel in mode=notify, the queue's channel in mode=queue."
                           + " At most 63 bytes of letters, digits and _ . : $ / -, used exactly as written"
                           + " (case included).")
    @Metadata(required = true)
    private final String channel;

    @UriParam
    private final PgNotifyConfiguration configuration;

    private final PgNotifyConnections connections;

    public PgNotifyEndpoint(String uri, PgNotifyComponent component, String channel, PgNotifyConfiguration configuration) {
        super(uri, component);
        this.channel = PgIdentifiers.requireValidChannel(channel);
        this.configuration = configuration;
        this.connections = new PgNotifyConnections(component.getSharedPools(), configuration,
                "pgnotify:" + channel);
    }

    @Override
    public PgNotifyComponent getComponent() {
        return (PgNotifyComponent) super.getComponent();
    }

    public String getChannel() {
        return channel;
    }

    public PgNotifyConfiguration getConfiguration() {
        return configuration;
    }

    PgNotifyConnections getConnections() {
        return connections;
    }

    @Override
    public Producer createProducer() throws Exception {
        requireSupportedMode();
        return new PgNotifyProducer(this);
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        requireSupportedMode();
        PgNotifyConsumer consumer = new PgNotifyConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    /**
     * Several routes may consume the same endpoint: in mode=notify each receives every notification.
     */
    @Override
    public boolean isMultipleConsumersSupported() {
        return true;
    }

    private void requireSupportedMode() {
        if (configuration.getMode() != PgNotifyMode.NOTIFY) {
            throw new UnsupportedOperationException(
                    "pgnotify:" + channel + ": mode=queue (the durable default) is not yet supported by this version;"
                                                    + " set mode=notify for plain LISTEN/NOTIFY");
        }
    }

    @Override
    public String getServiceUrl() {
        return configuration.getJdbcUrl() != null ? URISupport.sanitizeUri(configuration.getJdbcUrl()) : null;
    }

    @Override
    public String getServiceProtocol() {
        return "postgresql";
    }

    @Override
    public Map<String, String> getServiceMetadata() {
        return configuration.getUsername() != null ? Map.of("username", configuration.getUsername()) : null;
    }
}
