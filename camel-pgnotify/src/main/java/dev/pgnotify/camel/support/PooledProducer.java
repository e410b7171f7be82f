package dev.pgnotify.camel.support;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyEndpoint;
import org.apache.camel.support.DefaultProducer;

/**
 * What both producers share: a pooled DataSource, held from start to stop.
 */
public abstract class PooledProducer extends DefaultProducer {

    private DataSource dataSource;

    protected PooledProducer(PgNotifyEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    public PgNotifyEndpoint getEndpoint() {
        return (PgNotifyEndpoint) super.getEndpoint();
    }

    protected DataSource dataSource() {
        return dataSource;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        dataSource = getEndpoint().getConnections().acquirePooled();
    }

    @Override
    protected void doStop() throws Exception {
        if (dataSource != null) {
            dataSource = null;
            getEndpoint().getConnections().releasePooled();
        }
        super.doStop();
    }
}
