package dev.pgnotify.camel.queue;

import java.sql.PreparedStatement;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.claim.ClaimingConsumer;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.claim.WorkStore;
import dev.pgnotify.camel.connection.Database;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mode=queue: the consumers of a channel share its messages; each message is a row of the queue table, claimed,
 * processed and acknowledged on its own (see {@link ClaimingConsumer} for the claims, leases, retries, dead letters
 * and the sweep below the frontier).
 */
public class QueueConsumer extends ClaimingConsumer {

    private static final Logger LOG = LoggerFactory.getLogger(QueueConsumer.class);

    private volatile QueueResources queue;

    public QueueConsumer(ChannelEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    protected WorkStore prepare(Database database) throws Exception {
        queue = QueueResources.of(getEndpoint(), database, this);
        queue.requirePrivileges(database, this, QueueResources.Role.CONSUMER);
        QueueWorkStore store = new QueueWorkStore(queue, channel());
        // before the first claim, so that a backlog with priorities is claimed in their order from the start
        database.call(this, "looking for prioritized messages", connection -> {
            store.refresh(connection);
            return null;
        });
        return store;
    }

    /** How often the consumers of a queue forget the deduplication ids whose window is over. */
    private static final long FORGET_DEDUPLICATIONS_EVERY_SECONDS = 60;

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        sweeper().scheduleWithFixedDelay(this::forgetDeduplications, FORGET_DEDUPLICATIONS_EVERY_SECONDS,
                FORGET_DEDUPLICATIONS_EVERY_SECONDS, TimeUnit.SECONDS);
    }

    private void forgetDeduplications() {
        Database current = database();
        if (current == null) {
            return;
        }
        try {
            current.call(this, "forgetting expired deduplication ids", connection -> {
                try (PreparedStatement forget = connection.prepareStatement(queue.sql().forgetDeduplications)) {
                    return WorkRows.executeWrite(forget);
                }
            });
        } catch (Exception e) {
            LOG.debug("Could not forget expired deduplication ids of {}; trying again later", channel(), e);
        }
    }

    @Override
    protected String wakeUpChannel() {
        return queue.table().wakeUpChannel();
    }

    @Override
    protected String workKey() {
        return channel();
    }

    @Override
    protected String threadName() {
        return "PgNotifyQueueConsumer[" + channel() + "]";
    }

    @Override
    protected String mode() {
        return "queue";
    }

    @Override
    protected void populate(Message in, WorkStore.Item item, WorkStore.StoredMessage stored, Exchange exchange) {
        in.setHeaders(queue.codec().decodeHeaders(stored.headers(), exchange));
        in.setHeader(PgNotifyConstants.MESSAGE_ID, stored.id());
        in.setHeader(PgNotifyConstants.CHANNEL, channel());
        in.setHeader(PgNotifyConstants.ATTEMPT, item.attempt());
        in.setHeader(PgNotifyConstants.CREATED_AT, stored.createdAt().toInstant());
        if (stored.key() != null) {
            in.setHeader(PgNotifyConstants.KEY, stored.key());
        }
    }
}
