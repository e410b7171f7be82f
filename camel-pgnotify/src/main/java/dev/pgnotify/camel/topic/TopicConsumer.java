package dev.pgnotify.camel.topic;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.claim.ClaimingConsumer;
import dev.pgnotify.camel.claim.WorkStore;
import dev.pgnotify.camel.connection.Database;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mode=topic: a consumer of a group. Every group receives every message of the channel; the consumers of a group share
 * them. A claim that answers a wake-up first <em>cuts</em> the log, in the same round trip and transaction: the
 * messages whose transactions became visible since the group's previous cut become the group's items, batches of
 * message ids that the group's consumers then claim, process and acknowledge like queue messages
 * ({@link ClaimingConsumer}, {@link TopicWorkStore#claim}). The first batch's bodies come with the claim; the rest are
 * read from the log, within maxBytesPerPoll, as the consumer reaches them.
 * <p>
 * Every few seconds a consumer also records that its group is alive and lets the log rotate and empty the partitions
 * no group needs any more (one maintainer at a time, whichever consumer gets there first).
 */
public class TopicConsumer extends ClaimingConsumer {

    private static final Logger LOG = LoggerFactory.getLogger(TopicConsumer.class);

    /** How often a consumer records its group as alive and maintains the log. */
    static final long MAINTAIN_EVERY_MILLIS = 5_000;

    private final String group;
    private volatile TopicResources topic;
    private volatile TopicWorkStore store;
    private final AtomicLong cutMessages = new AtomicLong();
    private volatile Instant lastCut;
    private volatile Instant lastMaintenance;
    private volatile TopicWorkStore.Lag lag;

    public TopicConsumer(ChannelEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
        this.group = endpoint.getConfiguration().getGroup();
    }

    public String getGroup() {
        return group;
    }

    /**
     * The group's lag as last measured (every few seconds): messages published on the channel that the group has not
     * processed yet, and the age of the oldest. Null before the first measurement.
     */
    public Long getLagMessages() {
        TopicWorkStore.Lag measured = lag;
        return measured == null ? null : measured.messages();
    }

    /** Messages this consumer has cut from the log into its group's items since start. */
    public long getCutCount() {
        return cutMessages.get();
    }

    @Override
    protected WorkStore prepare(Database database) throws Exception {
        PgNotifyConfiguration configuration = configuration();
        topic = TopicResources.of(getEndpoint(), database, this);
        topic.requirePrivileges(database, this, TopicResources.Role.CONSUMER);
        TopicWorkStore work = new TopicWorkStore(topic, channel(), group, this::cutDone);
        boolean earliest = "earliest".equals(configuration.getGroupStart());
        boolean registered = database.call(this, "registering the group", connection -> {
            boolean isNew = work.register(connection, earliest);
            work.refresh(connection);
            return isNew;
        });
        if (registered) {
            LOG.info("Registered the group {} of pgnotify:{} on the topic {}: it receives {}", group, channel(),
                    topic.table().display(), earliest ? "every message the log still holds and every new one"
                            : "the messages published from now on");
        }
        store = work;
        return work;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        sweeper().scheduleWithFixedDelay(this::maintain, 0, Math.min(MAINTAIN_EVERY_MILLIS,
                Math.max(100, configuration().getRotateInterval() / 2)), TimeUnit.MILLISECONDS);
    }

    /** A claim cut the log first (see {@link TopicWorkStore#claim}). */
    private void cutDone(int cut, int limit, int batch) {
        if (cut > 0) {
            cutMessages.addAndGet(cut);
            lastCut = Instant.now();
        }
        if (cut > batch) {
            // more than this claim takes: another thread helps
            wakeOne();
        }
    }

    /** Records the group as alive and maintains the log; a failure only waits for the next round. */
    private void maintain() {
        Database current = database();
        TopicWorkStore work = store;
        if (current == null || work == null || !isRunAllowed()) {
            return;
        }
        PgNotifyConfiguration configuration = configuration();
        try {
            current.call(this, "recording the group as alive", connection -> {
                work.touch(connection);
                return null;
            });
            // a slot per call, each call a transaction of its own (see TopicSchema.maintainFunction): readers wait
            // for one TRUNCATE at a time, never for the whole round
            List<TopicWorkStore.Emptied> emptied = new ArrayList<>();
            for (int round = 0; round <= TopicTable.SLOTS; round++) {
                List<TopicWorkStore.Emptied> now = current.call(this, "maintaining the topic",
                        connection -> work.maintain(connection, configuration.getRetention(),
                                configuration.getMaxRetention(), configuration.getRotateInterval()));
                emptied.addAll(now);
                if (now.isEmpty()) {
                    break;
                }
            }
            long itemsFrom = knownUnfinishedFrom();
            // bounded on the server too, so that a slow count is cancelled there and its connection kept; the call's
            // own bound, a second later, stays the last line
            long bound = current.statementTimeoutMillis();
            lag = current.call(this, "measuring the group's lag", bound + 1000,
                    connection -> work.lag(connection, itemsFrom, bound));
            lastMaintenance = Instant.now();
            for (TopicWorkStore.Emptied slot : emptied) {
                if (slot.unreadBy() != null) {
                    LOG.warn("The topic {} emptied a partition of messages older than maxRetention ({} ms) that"
                             + " these groups had not processed: {}. They skip those messages.",
                            topic.table().display(), configuration.getMaxRetention(), slot.unreadBy());
                } else {
                    LOG.debug("The topic {} emptied partition {}: every group had processed it", topic.table().display(),
                            slot.slot());
                }
            }
        } catch (Exception e) {
            LOG.debug("Maintaining the topic {} failed; trying again in a moment", topic.table().display(), e);
        }
    }

    @Override
    protected String wakeUpChannel() {
        return topic.table().wakeUpChannel();
    }

    @Override
    protected String workKey() {
        return channel() + "/" + group;
    }

    @Override
    protected String threadName() {
        return "PgNotifyTopicConsumer[" + channel() + "/" + group + "]";
    }

    @Override
    protected String mode() {
        return "topic";
    }

    @Override
    protected void populate(Message in, WorkStore.Item item, WorkStore.StoredMessage stored, Exchange exchange) {
        in.setHeaders(topic.codec().decodeHeaders(stored.headers(), exchange));
        in.setHeader(PgNotifyConstants.MESSAGE_ID, stored.id());
        in.setHeader(PgNotifyConstants.CHANNEL, channel());
        in.setHeader(PgNotifyConstants.GROUP, group);
        in.setHeader(PgNotifyConstants.ATTEMPT, item.attempt());
        in.setHeader(PgNotifyConstants.CREATED_AT, stored.createdAt().toInstant());
        if (stored.key() != null) {
            in.setHeader(PgNotifyConstants.KEY, stored.key());
        }
    }

    @Override
    protected void reportDetails(HealthCheckResultBuilder result) {
        result.detail("group", group).detail("cut", cutMessages.get());
        Instant cutAt = lastCut;
        if (cutAt != null) {
            result.detail("lastCut", cutAt.toString());
        }
        Instant maintainedAt = lastMaintenance;
        if (maintainedAt != null) {
            result.detail("lastMaintenance", maintainedAt.toString());
        }
        TopicWorkStore.Lag measured = lag;
        if (measured != null) {
            result.detail("lagMessages", measured.messages());
            if (measured.ageMillis() != null) {
                result.detail("lagAgeMillis", measured.ageMillis());
            }
        }
    }
}
