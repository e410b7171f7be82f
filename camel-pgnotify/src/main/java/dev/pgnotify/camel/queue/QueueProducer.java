package dev.pgnotify.camel.queue;

import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.produce.StoringProducer;

/**
 * mode=queue: inserts each message into the queue table (see {@link StoringProducer}).
 */
public class QueueProducer extends StoringProducer {

    public QueueProducer(ChannelEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    protected Target prepare(Database database) throws Exception {
        QueueResources queue = QueueResources.of(getEndpoint(), database, this);
        queue.requirePrivileges(database, this, QueueResources.Role.PRODUCER);
        return new Target(queue.codec(), queue.sql().insertOne, queue.sql().insertMany, queue.table().wakeUpChannel(),
                true);
    }
}
