package dev.pgnotify.camel;

import javax.sql.DataSource;

import org.apache.camel.support.DefaultProducer;

/**
 * What both producers share: a pooled DataSource, held from start to stop.
 */
abstract class PgNotifyProducerSupport extends DefaultProducer {

    private DataSource dataSource;

    PgNotifyProducerSupport(PgNotifyEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    public PgNotifyEndpoint getEndpoint() {
        return (PgNotifyEndpoint) super.getEndpoint();
    }

    DataSource dataSource() {
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
