package dev.pgnotify.camel.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.util.TimeUtils;

/**
 * A producer of a durable mode (queue, topic): inserts the body and headers as one message (or, with batch=true,
 * each element of a collection as its own message, in one statement), then asks for the channel's consumers to be
 * woken. When the exchange completes, the message is committed: it is delivered even if no consumer runs yet.
 */
public abstract class StoringProducer extends PooledProducer {

    /**
     * Where messages go: the codec, the statements and the wake-up channel of a mode's table.
     *
     * @param insertOne  parameters: channel, body_json, body_text, body_bytes, headers, then the placement (see
     *                   queueFeatures); returns the id
     * @param insertMany parameters: channel, headers, the placement, json[], text[], bytea[]; returns the ids in list
     *                   order
     */
    public record Target(MessageCodec codec, String insertOne, String insertMany, String wakeUpChannel,
                         boolean queueFeatures) {

        /**
         * @param queueFeatures whether the statements take a message key, expiry, deduplication, due time and priority
         *                      (mode=queue): insertOne then takes them after the headers, and insertMany after its
         *                      headers, before the arrays (see QueueSql); otherwise (mode=topic) they take the key
         *                      alone there
         */
        public Target {
        }

        public Target(MessageCodec codec, String insertOne, String insertMany, String wakeUpChannel) {
            this(codec, insertOne, insertMany, wakeUpChannel, false);
        }
    }

    /** A message's key, expiry, deduplication, due time and priority, from its headers and the endpoint's options. */
    private record Placement(String key, Timestamp expiresAt, Long timeToLive, String deduplicationId,
                             long deduplicationWindow, Timestamp deliverAt, Long delay, int priority) {

        static final Placement NONE = new Placement(null, null, null, null, 0, null, null, 0);

        /** In how many milliseconds (by this JVM's clock) the message falls due: 0 when it is due at once. */
        long dueInMillis() {
            if (deliverAt != null) {
                return Math.max(0, deliverAt.getTime() - System.currentTimeMillis());
            }
            return delay != null ? Math.max(0, delay) : 0;
        }
    }

    private Target target;
    private WakeUpSenders.Sender wakeUps;

    protected StoringProducer(PgNotifyEndpoint endpoint) {
        super(endpoint);
    }

    /** Resolves the mode's table on this database (creating or verifying it, checking privileges). */
    protected abstract Target prepare(Database database) throws Exception;

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        try {
            target = prepare(database());
        } catch (Exception e) {
            super.doStop();
            throw e;
        }
        if (getEndpoint().getConfiguration().isListen()) {
            wakeUps = getEndpoint().getComponent().getWakeUps().acquire(database());
        }
    }

    @Override
    protected void doStop() throws Exception {
        if (wakeUps != null) {
            wakeUps = null;
            getEndpoint().getComponent().getWakeUps().release(database().dataSource());
        }
        super.doStop();
    }

    /**
     * Stores the message. Inside a transaction on the endpoint's DataSource (a transacted route, a Spring-managed
     * transaction), on that transaction's connection: it commits or rolls back with the caller's work, and consumers are
     * woken after the commit, never before (a wake-up before the commit would find nothing and delay delivery to the
     * next poll). Otherwise in a transaction of its own.
     */
    @Override
    public void process(Exchange exchange) throws Exception {
        Message message = exchange.getMessage();
        String operation = message.getHeader(PgNotifyConstants.OPERATION, String.class);
        if (operation != null) {
            runOperation(message, operation);
            return;
        }
        Object body = message.getBody();
        Placement placement = placement(message);
        String headers = target.codec().encodeHeaders(message.getHeaders(), exchange);
        DataSource joinable = getEndpoint().joinableDataSource();
        PgNotifyTransactions transactions = getEndpoint().getConfiguration().getTransactions();
        Connection joined = joinable != null ? transactions.transactionConnection(joinable) : null;
        try {
            if (getEndpoint().getConfiguration().isBatch() && body instanceof Collection<?> elements) {
                message.setHeader(PgNotifyConstants.MESSAGE_ID,
                        insertMany(elements, headers, placement, exchange, joined));
            } else {
                Long id = insertOne(body, headers, placement, exchange, joined);
                if (id == null) {
                    // its deduplication id is taken: nothing was enqueued, and nobody is to be woken
                    message.setHeader(PgNotifyConstants.DUPLICATE, true);
                    message.removeHeader(PgNotifyConstants.MESSAGE_ID);
                    return;
                }
                message.setHeader(PgNotifyConstants.MESSAGE_ID, id);
                if (placement.deduplicationId() != null) {
                    message.setHeader(PgNotifyConstants.DUPLICATE, false);
                }
            }
        } finally {
            if (joined != null) {
                transactions.release(joined, joinable);
            }
        }
        long dueIn = placement.dueInMillis();
        if (joined != null) {
            transactions.afterCommit(() -> wakeConsumers(dueIn));
        } else {
            wakeConsumers(dueIn);
        }
    }

    /** An operator's operation on the channel (see {@link PgNotifyConstants#OPERATION}); its result is the body. */
    private void runOperation(Message message, String operation) throws SQLException {
        EndpointAdmin admin = getEndpoint().getAdmin();
        String group = message.getHeader(PgNotifyConstants.GROUP, String.class);
        switch (operation) {
            case PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS ->
                message.setBody(admin.requeueDeadLetters(group, selectedIds(message)));
            case PgNotifyConstants.OPERATION_PURGE_DEAD_LETTERS ->
                message.setBody(admin.purgeDeadLetters(group, selectedIds(message)));
            case PgNotifyConstants.OPERATION_STATISTICS -> message.setBody(admin.statistics());
            default -> throw new IllegalArgumentException(
                    "pgnotify:" + getEndpoint().getChannel() + ": unknown " + PgNotifyConstants.OPERATION + " '"
                                                          + operation + "': use "
                                                          + PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS + ", "
                                                          + PgNotifyConstants.OPERATION_PURGE_DEAD_LETTERS + " or "
                                                          + PgNotifyConstants.OPERATION_STATISTICS);
        }
    }

    /** The message ids an operation is limited to: none (all), one, or a list (or "1,2,3"). */
    private static List<Long> selectedIds(Message message) {
        Object ids = message.getHeader(PgNotifyConstants.MESSAGE_ID);
        if (ids == null) {
            return null;
        }
        List<Long> selected = new ArrayList<>();
        Iterable<?> values = ids instanceof Iterable<?> iterable ? iterable
                : ids instanceof String text ? List.of(text.split(",")) : List.of(ids);
        for (Object value : values) {
            String text = String.valueOf(value).trim();
            try {
                selected.add(Long.parseLong(text));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(PgNotifyConstants.MESSAGE_ID + " must hold message ids (numbers),"
                                                   + " not '" + text + "'", e);
            }
        }
        return selected;
    }

    /** Wakes the channel's consumers now, or when the messages fall due that many milliseconds from now. */
    private void wakeConsumers(long dueInMillis) {
        if (!isRunAllowed()) {
            return;
        }
        String wakeUpChannel = target.wakeUpChannel();
        getEndpoint().getComponent().getLocalWakeUps().wake(wakeUpChannel, getEndpoint().getChannel(), dueInMillis);
        WakeUpSenders.Sender sender = wakeUps;
        if (sender != null) {
            // null with listen=false: nobody LISTENs
            sender.request(wakeUpChannel, getEndpoint().getChannel(), dueInMillis);
        }
    }

    /** Runs a statement: on a pooled connection, or on the caller's transaction's ({@code joined}, when not null). */
    private <T> T run(Connection joined, String what, Database.Work<T> work) throws SQLException {
        return joined == null ? database().call(this, what, work) : database().callOn(joined, this, what, work);
    }

    /**
     * The message's key, expiry, deduplication, due time and priority; only mode=queue has all of them (mode=topic has
     * keys), so elsewhere they are refused rather than ignored.
     */
    private Placement placement(Message message) {
        String key = message.getHeader(PgNotifyConstants.KEY, String.class);
        Object expiresAt = message.getHeader(PgNotifyConstants.EXPIRES_AT);
        String deduplicationId = message.getHeader(PgNotifyConstants.DEDUPLICATION_ID, String.class);
        Object deliverAt = message.getHeader(PgNotifyConstants.DELIVER_AT);
        Object delay = message.getHeader(PgNotifyConstants.DELAY);
        Object priority = message.getHeader(PgNotifyConstants.PRIORITY);
        long timeToLive = getEndpoint().getConfiguration().getTimeToLive();
        if (!target.queueFeatures()) {
            if (expiresAt != null || deduplicationId != null || deliverAt != null || delay != null
                || priority != null || timeToLive > 0) {
                throw new IllegalArgumentException(
                        "pgnotify:" + getEndpoint().getChannel() + ": " + PgNotifyConstants.EXPIRES_AT + ", "
                                                   + PgNotifyConstants.DEDUPLICATION_ID + ", "
                                                   + PgNotifyConstants.DELAY + ", " + PgNotifyConstants.DELIVER_AT
                                                   + ", " + PgNotifyConstants.PRIORITY + " and timeToLive are"
                                                   + " supported in mode=queue only, not mode="
                                                   + getEndpoint().getMode());
            }
            return key == null ? Placement.NONE : new Placement(key, null, null, null, 0, null, null, 0);
        }
        if (deduplicationId != null && getEndpoint().getConfiguration().isBatch()
            && message.getBody() instanceof Collection<?>) {
            throw new IllegalArgumentException(
                    "pgnotify:" + getEndpoint().getChannel() + ": " + PgNotifyConstants.DEDUPLICATION_ID
                                               + " names one message, and batch=true sends several: send them one"
                                               + " by one, each with its own id");
        }
        return new Placement(key, expiresAt == null ? null : toTimestamp(PgNotifyConstants.EXPIRES_AT, expiresAt),
                timeToLive > 0 ? timeToLive : null, deduplicationId,
                getEndpoint().getConfiguration().getDeduplicationWindow(),
                deliverAt == null ? null : toTimestamp(PgNotifyConstants.DELIVER_AT, deliverAt),
                delay == null ? null : toMillis(delay), priority == null ? 0 : toPriority(priority));
    }

    private static long toMillis(Object delay) {
        if (delay instanceof Duration duration) {
            return duration.toMillis();
        } else if (delay instanceof Number millis) {
            return millis.longValue();
        }
        try {
            return TimeUtils.toMilliSeconds(delay.toString().trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(PgNotifyConstants.DELAY + " must be a delay (milliseconds as a number, a"
                                               + " java.time.Duration, or text such as 5000, 30s, 1h30m or PT5M),"
                                               + " not '" + delay + "'", e);
        }
    }

    private static int toPriority(Object priority) {
        long value;
        try {
            value = priority instanceof Number number ? number.longValue() : Long.parseLong(priority.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PgNotifyConstants.PRIORITY + " must be an integer from 0 up, not '"
                                               + priority + "'", e);
        }
        if (value < 0 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(PgNotifyConstants.PRIORITY + " must be an integer from 0 up (higher"
                                               + " first, 0 the default), not " + value);
        }
        return (int) value;
    }

    private static Timestamp toTimestamp(String header, Object value) {
        if (value instanceof Instant instant) {
            return Timestamp.from(instant);
        } else if (value instanceof Date date) {
            return new Timestamp(date.getTime());
        } else if (value instanceof Number millis) {
            return new Timestamp(millis.longValue());
        } else if (value instanceof TemporalAccessor temporal) {
            return Timestamp.from(Instant.from(temporal));
        }
        try {
            return Timestamp.from(OffsetDateTime.parse(value.toString().trim()).toInstant());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(header + " must be an instant (java.time.Instant, java.util.Date, epoch"
                                               + " milliseconds or ISO-8601 text such as 2026-11-26T10:15:30Z), not '"
                                               + value + "'", e);
        }
    }

    /**
     * Binds the key, expiry, deduplication id, due time, priority and deduplication window at {@code index} on;
     * returns the next index.
     */
    private static int bind(PreparedStatement statement, int index, Placement placement) throws SQLException {
        statement.setString(index, placement.key());
        statement.setTimestamp(index + 1, placement.expiresAt());
        setLong(statement, index + 2, placement.timeToLive());
        statement.setString(index + 3, placement.deduplicationId());
        statement.setTimestamp(index + 4, placement.deliverAt());
        setLong(statement, index + 5, placement.delay());
        statement.setInt(index + 6, placement.priority());
        statement.setString(index + 7, Long.toString(placement.deduplicationWindow()));
        return index + 8;
    }

    private static void setLong(PreparedStatement statement, int index, Long value) throws SQLException {
        if (value != null) {
            statement.setLong(index, value);
        } else {
            statement.setNull(index, Types.BIGINT);
        }
    }

    /** Returns the new message's id, or null when its deduplication id was taken (nothing enqueued). */
    private Long insertOne(Object body, String headers, Placement placement, Exchange exchange, Connection joined)
            throws Exception {
        MessageCodec.StoredBody stored = target.codec().encodeBody(body, exchange);
        return run(joined, "sending a message", connection -> {
            try (PreparedStatement insert = connection.prepareStatement(sql(target.insertOne(), joined))) {
                insert.setString(1, getEndpoint().getChannel());
                insert.setString(2, stored.json());
                insert.setString(3, stored.text());
                if (stored.bytes() != null) {
                    insert.setBytes(4, stored.bytes());
                } else {
                    insert.setNull(4, Types.BINARY);
                }
                insert.setString(5, headers);
                if (target.queueFeatures()) {
                    bind(insert, 6, placement);
                } else {
                    insert.setString(6, placement.key());
                }
                try (ResultSet rs = execute(insert, joined)) {
                    return rs.next() ? rs.getLong(1) : null;
                }
            }
        });
    }

    /**
     * The INSERT, and inside the caller's transaction the statements that keep and restore the settings it changes
     * (see {@link SupportSql#SAVE_SETTINGS}): one round trip either way.
     */
    private static String sql(String insert, Connection joined) {
        return joined == null ? insert
                : SupportSql.SAVE_SETTINGS + "; " + insert + "; " + SupportSql.RESTORE_SETTINGS;
    }

    /**
     * Runs the statement from {@link #sql}; returns the INSERT's result. (pgjdbc reads every result of the round trip
     * before it returns: the settings are restored whether or not their result is read.)
     */
    private static ResultSet execute(PreparedStatement insert, Connection joined) throws SQLException {
        if (joined == null) {
            return insert.executeQuery();
        }
        insert.execute();
        insert.getMoreResults();
        return insert.getResultSet();
    }

    private List<Long> insertMany(Collection<?> elements, String headers, Placement placement, Exchange exchange,
                                  Connection joined)
            throws Exception {
        int size = elements.size();
        String[] json = new String[size];
        String[] text = new String[size];
        byte[][] bytes = new byte[size][];
        int i = 0;
        for (Object element : elements) {
            MessageCodec.StoredBody stored = target.codec().encodeBody(element, exchange);
            json[i] = stored.json();
            text[i] = stored.text();
            bytes[i] = stored.bytes();
            i++;
        }
        List<Long> ids = run(joined, "sending " + size + " messages", connection -> {
            List<Long> inserted = new ArrayList<>(size);
            try (PreparedStatement insert = connection.prepareStatement(sql(target.insertMany(), joined))) {
                insert.setString(1, getEndpoint().getChannel());
                insert.setString(2, headers);
                int next;
                if (target.queueFeatures()) {
                    next = bind(insert, 3, placement);
                } else {
                    insert.setString(3, placement.key());
                    next = 4;
                }
                insert.setArray(next, connection.createArrayOf("text", json));
                insert.setArray(next + 1, connection.createArrayOf("text", text));
                insert.setArray(next + 2, connection.createArrayOf("bytea", bytes));
                try (ResultSet rs = execute(insert, joined)) {
                    while (rs.next()) {
                        inserted.add(rs.getLong(1));
                    }
                }
            }
            return inserted;
        });
        // one statement assigns ids in insertion order, which ORDER BY made the list's order
        ids.sort(null);
        return ids;
    }
}
