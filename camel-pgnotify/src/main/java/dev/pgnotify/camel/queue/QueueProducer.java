package dev.pgnotify.camel.queue;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.support.Database;
import dev.pgnotify.camel.support.StoringProducer;

/**
 * mode=queue: inserts each message into the queue table (see {@link StoringProducer}).
 */
public class QueueProducer extends StoringProducer {

    public QueueProducer(PgNotifyEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    protected Target prepare(Database database) throws Exception {
        QueueResources queue = getEndpoint().queue(database, this);
        queue.requirePrivileges(database, this, QueueResources.Role.PRODUCER);
        return new Target(queue.codec(), queue.sql().insertOne, queue.sql().insertMany, queue.table().wakeUpChannel(),
                true);
    }
}
