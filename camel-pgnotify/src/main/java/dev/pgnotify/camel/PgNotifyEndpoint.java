package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import javax.sql.DataSource;

import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.MultipleConsumersSupport;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRepository;
import org.apache.camel.spi.EndpointServiceLocation;
import org.apache.camel.spi.HeaderFilterStrategy;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriPath;
import org.apache.camel.support.DefaultConsumer;
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
    private Queue queue;

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
        return configuration.getMode() == PgNotifyMode.NOTIFY ? new PgNotifyProducer(this) : new PgNotifyQueueProducer(this);
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        DefaultConsumer consumer = configuration.getMode() == PgNotifyMode.NOTIFY
                ? new PgNotifyConsumer(this, processor) : new PgNotifyQueueConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    /** Rejects option values that cannot work before anything connects. */
    @Override
    protected void doInit() throws Exception {
        super.doInit();
        if (configuration.getMode() == PgNotifyMode.QUEUE) {
            PgNotifyQueueTable.of(configuration.getTable(), configuration.getDeadLetterTable());
            requireAtLeast("concurrentConsumers", configuration.getConcurrentConsumers(), 1);
            requireAtLeast("maxMessagesPerPoll", configuration.getMaxMessagesPerPoll(), 1);
            requireAtLeast("maxBytesPerPoll", configuration.getMaxBytesPerPoll(), 1);
            requireAtLeast("maxAttempts", configuration.getMaxAttempts(), 1);
            requireAtLeast("pollInterval", configuration.getPollInterval(), 1);
            requireAtLeast("leaseTime", configuration.getLeaseTime(), 100);
            requireAtLeast("retryDelay", configuration.getRetryDelay(), 0);
            requireAtLeast("maxRetryDelay", configuration.getMaxRetryDelay(), 0);
            if (!(configuration.getRetryMultiplier() >= 1.0)) {
                throw new IllegalArgumentException(
                        "pgnotify:" + channel + ": retryMultiplier must be 1 or more, not "
                                                   + configuration.getRetryMultiplier());
            }
        }
        requireAtLeast("maxPoolSize", configuration.getMaxPoolSize(), 1);
        requireAtLeast("connectionCheckInterval", configuration.getConnectionCheckInterval(), 1);
        requireAtLeast("reconnectDelay", configuration.getReconnectDelay(), 1);
    }

    private void requireAtLeast(String option, long value, long minimum) {
        if (value < minimum) {
            throw new IllegalArgumentException(
                    "pgnotify:" + channel + ": " + option + " must be at least " + minimum + ", not " + value);
        }
    }

    /**
     * Gives a consumer the health check that Camel's consumers repository reports (when camel-health is present):
     * DOWN while its LISTEN connection is lost. Switched off with the component's healthCheckConsumerEnabled.
     */
    void installHealthCheck(DefaultConsumer consumer, PgNotifyListener listener) {
        if (HealthCheckHelper.getHealthCheckRepository(getCamelContext(), "consumers", HealthCheckRepository.class)
                == null) {
            return;
        }
        String routeId = consumer.getRouteId() != null ? consumer.getRouteId() : channel;
        PgNotifyConsumerHealthCheck check = new PgNotifyConsumerHealthCheck(routeId, channel, listener);
        check.setEnabled(getComponent().isHealthCheckConsumerEnabled());
        consumer.setHealthCheck(check);
    }

    /** What a producer or consumer in mode=queue works with, resolved once the database is reachable. */
    record Queue(PgNotifyQueueTable table, PgNotifySql.Queue sql, PgNotifyMessageCodec codec) {
    }

    /**
     * The queue table, created or verified (once per endpoint) on this database.
     */
    synchronized Queue queue(DataSource dataSource) throws SQLException {
        if (queue == null) {
            PgNotifyQueueTable table = PgNotifyQueueTable.of(configuration.getTable(), configuration.getDeadLetterTable());
            try (Connection connection = dataSource.getConnection()) {
                try (Statement statement = connection.createStatement();
                     ResultSet rs = statement.executeQuery(PgNotifySql.CURRENT_SCHEMA)) {
                    rs.next();
                    table = table.inSchema(rs.getString(1));
                }
                PgNotifySchema.ensure(connection, table, configuration.isCreateSchema());
            }
            HeaderFilterStrategy headerFilter = configuration.getHeaderFilterStrategy() != null
                    ? configuration.getHeaderFilterStrategy() : new PgNotifyHeaderFilterStrategy();
            queue = new Queue(table, new PgNotifySql.Queue(table),
                    new PgNotifyMessageCodec(configuration.isStoreJsonAsJsonb(), headerFilter));
        }
        return queue;
    }

    /**
     * Several routes may consume the same endpoint: in mode=notify each receives every notification, in mode=queue
     * they share the messages.
     */
    @Override
    public boolean isMultipleConsumersSupported() {
        return true;
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
