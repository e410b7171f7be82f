package dev.pgnotify.camel.produce;

import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.connection.Database;
import org.apache.camel.support.DefaultProducer;

/**
 * What every producer shares: the endpoint's bounded {@link Database}, held from start to stop.
 */
public abstract class PooledProducer extends DefaultProducer {

    private volatile Database database;

    protected PooledProducer(ChannelEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    public ChannelEndpoint getEndpoint() {
        return (ChannelEndpoint) super.getEndpoint();
    }

    protected Database database() {
        Database current = database;
        if (current == null) {
            throw new IllegalStateException(getEndpoint() + ": the producer is not started");
        }
        return current;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        database = getEndpoint().getConnections().acquireDatabase();
    }

    @Override
    protected void doStop() throws Exception {
        Database current = database;
        if (current != null) {
            database = null;
            // a send blocked on a dead connection must not hold the stop up for its whole bound
            current.watchdog().abortCallsOf(this);
            getEndpoint().getConnections().releaseDatabase();
        }
        super.doStop();
    }
}
