package dev.pgnotify.camel;

import org.apache.camel.spi.Metadata;

/**
 * Headers of the pgnotify component.
 */
public final class PgNotifyConstants {

    @Metadata(label = "consumer", description = "The channel the message was received on.", javaType = "String",
              important = true)
    public static final String CHANNEL = "CamelPgNotifyChannel";

    @Metadata(label = "consumer",
              description = "mode=notify: the process id of the PostgreSQL backend that sent the notification.",
              javaType = "Integer")
    public static final String PROCESS_ID = "CamelPgNotifyProcessId";

    @Metadata(label = "consumer,producer",
              description = "mode=queue and topic: the id of the message in the queue table (the topic's log). Set by"
                            + " the producer (with batch=true, the list of the ids of the elements, in their order)"
                            + " and by the consumer.",
              javaType = "Long")
    public static final String MESSAGE_ID = "CamelPgNotifyMessageId";

    @Metadata(label = "consumer",
              description = "mode=queue and topic: which delivery of the message this is (in mode=topic, to this"
                            + " group), starting at 1.",
              javaType = "Integer")
    public static final String ATTEMPT = "CamelPgNotifyAttempt";

    @Metadata(label = "consumer", description = "mode=queue and topic: when the message was inserted.",
              javaType = "java.time.Instant")
    public static final String CREATED_AT = "CamelPgNotifyCreatedAt";

    @Metadata(label = "consumer", description = "mode=topic: the consumer group the message was delivered to.",
              javaType = "String")
    public static final String GROUP = "CamelPgNotifyGroup";

    @Metadata(label = "consumer,producer",
              description = "mode=queue and topic: the message's key. A keyed message is delivered only after every"
                            + " earlier message of the same key and channel has completed (acknowledged or"
                            + " dead-lettered), and never at the same time as one, across all consumers (in mode=topic:"
                            + " of its group); messages of other keys go on in parallel. Set by the consumer too.",
              javaType = "String")
    public static final String KEY = "CamelPgNotifyKey";

    @Metadata(label = "producer",
              description = "mode=queue: when the message expires (a java.time.Instant, java.util.Date, epoch"
                            + " milliseconds or ISO-8601 text): one not claimed by then is not delivered, but moved to"
                            + " the dead-letter table with the reason (or dropped, with dropExpired). Overrides the"
                            + " timeToLive option.",
              javaType = "java.time.Instant")
    public static final String EXPIRES_AT = "CamelPgNotifyExpiresAt";

    @Metadata(label = "producer",
              description = "mode=queue: delivers the message this much later: milliseconds (a number), a"
                            + " java.time.Duration, or text such as 5000, 30s, 1h30m or PT5M (column available_at). The"
                            + " consumers are woken when it falls due, not at their next poll; a restart loses nothing."
                            + " CamelPgNotifyDeliverAt wins over it.",
              javaType = "java.time.Duration")
    public static final String DELAY = "CamelPgNotifyDelay";

    @Metadata(label = "producer",
              description = "mode=queue: delivers the message at this instant (a java.time.Instant, java.util.Date,"
                            + " epoch milliseconds or ISO-8601 text), by the database's clock (column available_at).",
              javaType = "java.time.Instant")
    public static final String DELIVER_AT = "CamelPgNotifyDeliverAt";

    @Metadata(label = "producer",
              description = "mode=queue: the message's priority, an integer from 0 (the default) up: among the due"
                            + " messages of a channel, higher priorities are claimed first, and within one priority the"
                            + " order of sending. Per-key order comes first: a keyed message waits for the earlier"
                            + " messages of its key whatever their priorities (column priority).",
              javaType = "Integer")
    public static final String PRIORITY = "CamelPgNotifyPriority";

    @Metadata(label = "producer",
              description = "mode=queue: the message's deduplication id. A message whose id is taken on its channel (by"
                            + " a message still waiting, in flight or retrying, or one that completed less than"
                            + " deduplicationWindow ago) is not enqueued: the producer sets CamelPgNotifyDuplicate to"
                            + " true instead of failing. Safe under concurrent producers (column dedup_id).",
              javaType = "String")
    public static final String DEDUPLICATION_ID = "CamelPgNotifyDeduplicationId";

    @Metadata(label = "producer",
              description = "mode=queue: set by the producer to true when the message was not enqueued because its"
                            + " deduplication id was taken (and then no CamelPgNotifyMessageId is set).",
              javaType = "Boolean")
    public static final String DUPLICATE = "CamelPgNotifyDuplicate";

    @Metadata(label = "consumer",
              description = "mode=queue and topic, browsing only: the error of the message's last failed delivery, on"
                            + " the messages Camel's browse tools show (a dead letter's, a retrying message's). A"
                            + " browsed dead letter's CamelPgNotifyAttempt is how many deliveries failed.",
              javaType = "String")
    public static final String LAST_ERROR = "CamelPgNotifyLastError";

    @Metadata(label = "producer",
              description = "mode=queue and topic: the producer runs this operation on its channel instead of sending"
                            + " the body. requeueDeadLetters delivers dead letters again, purgeDeadLetters deletes them"
                            + " (both: all of the channel's, or only the ids in CamelPgNotifyMessageId, an id or a"
                            + " list; in mode=topic, of the group in CamelPgNotifyGroup, else of the endpoint's group,"
                            + " else of every group) and the new body is how many; statistics measures the channel"
                            + " and the new body is the list of PgNotifyStatistics.",
              javaType = "String", enums = "requeueDeadLetters,purgeDeadLetters,statistics")
    public static final String OPERATION = "CamelPgNotifyOperation";

    /** {@link #OPERATION}: delivers dead letters again. */
    public static final String OPERATION_REQUEUE_DEAD_LETTERS = "requeueDeadLetters";
    /** {@link #OPERATION}: deletes dead letters. */
    public static final String OPERATION_PURGE_DEAD_LETTERS = "purgeDeadLetters";
    /** {@link #OPERATION}: measures the channel. */
    public static final String OPERATION_STATISTICS = "statistics";

    private PgNotifyConstants() {
    }
}
