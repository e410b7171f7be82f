package dev.pgnotify.camel;

import java.util.Map;

import dev.pgnotify.camel.connection.CallWatchdog;
import dev.pgnotify.camel.connection.SharedPools;
import dev.pgnotify.camel.listen.Listeners;
import dev.pgnotify.camel.listen.LocalWakeUps;
import dev.pgnotify.camel.listen.WakeUpSenders;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.annotations.Component;
import org.apache.camel.support.HealthCheckComponent;

/**
 * The pgnotify component: PostgreSQL as a message queue for Camel routes.
 */
@Component("pgnotify")
public class PgNotifyComponent extends HealthCheckComponent {

    @Metadata
    private PgNotifyConfiguration configuration = new PgNotifyConfiguration();

    private SharedPools sharedPools;
    private CallWatchdog watchdog;
    private Listeners listeners;
    private WakeUpSenders wakeUps;
    private final LocalWakeUps localWakeUps = new LocalWakeUps();

    public PgNotifyComponent() {
    }

    public PgNotifyComponent(CamelContext context) {
        super(context);
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        PgNotifyConfiguration endpointConfiguration = configuration.copy();
        if (parameters.containsKey("dataSource") && !parameters.containsKey("jdbcUrl")) {
            // a DataSource written on the endpoint wins over the component's URL (a URL wins at the same level: see
            // PgNotifyConfiguration.effectiveDataSource)
            endpointConfiguration.setJdbcUrl(null);
        }
        PgNotifyEndpoint endpoint = new PgNotifyEndpoint(uri, this, remaining, endpointConfiguration);
        setProperties(endpoint, parameters);
        return endpoint;
    }

    /** The connection pools built from JDBC URLs, shared by the endpoints of this component. */
    public synchronized SharedPools getSharedPools() {
        if (sharedPools == null) {
            sharedPools = new SharedPools(getCamelContext());
        }
        return sharedPools;
    }

    /** Bounds every database call of this component's endpoints. */
    public synchronized CallWatchdog getWatchdog() {
        if (watchdog == null) {
            watchdog = new CallWatchdog(getCamelContext());
        }
        return watchdog;
    }

    /** The LISTEN connections this component's consumers share, one per database. */
    public synchronized Listeners getListeners() {
        if (listeners == null) {
            listeners = new Listeners(getCamelContext(), getWatchdog());
        }
        return listeners;
    }

    /** Sends the NOTIFY wake-ups of queue producers, one sender per database. */
    public synchronized WakeUpSenders getWakeUps() {
        if (wakeUps == null) {
            wakeUps = new WakeUpSenders(getCamelContext(), localWakeUps.id());
        }
        return wakeUps;
    }

    /** The queue consumers of this component, woken directly by its own producers. */
    public LocalWakeUps getLocalWakeUps() {
        return localWakeUps;
    }

    @Override
    protected void doStop() throws Exception {
        SharedPools pools;
        WakeUpSenders senders;
        Listeners shared;
        CallWatchdog calls;
        synchronized (this) {
            pools = sharedPools;
            senders = wakeUps;
            shared = listeners;
            calls = watchdog;
        }
        if (shared != null) {
            shared.stopAll();
        }
        if (senders != null) {
            senders.stopAll();
        }
        if (pools != null) {
            pools.closeAll();
        }
        if (calls != null) {
            calls.stop();
        }
        super.doStop();
    }

    public PgNotifyConfiguration getConfiguration() {
        return configuration;
    }

    /**
     * The options shared by every endpoint of this component; an endpoint may override each of them.
     */
    public void setConfiguration(PgNotifyConfiguration configuration) {
        this.configuration = configuration;
    }
}
