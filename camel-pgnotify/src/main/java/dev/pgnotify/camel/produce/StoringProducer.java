package dev.pgnotify.camel.produce;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.admin.EndpointAdmin;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.listen.WakeUpSenders;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

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


    private Target target;
    private WakeUpSenders.Sender wakeUps;

    protected StoringProducer(ChannelEndpoint endpoint) {
        super(endpoint);
    }

    /** Resolves the mode's table on this database (creating or verifying it, checking privileges). */
    protected abstract Target prepare(Database database) throws Exception;

    /**
     * Prepares the table and the wake-ups outside the calling thread's transaction: Camel starts a producer on its first
     * send, which may run inside the application's transaction (a {@code @Transactional} method's).
     */
    @Override
    protected void doStart() throws Exception {
        super.doStart();
        try {
            database().outsideTransaction(() -> {
                target = prepare(database());
                if (getEndpoint().getConfiguration().isListen()) {
                    wakeUps = getEndpoint().wakeUpSenders().acquire(database());
                }
                return null;
            });
        } catch (Exception e) {
            super.doStop();
            throw e;
        }
    }

    @Override
    protected void doStop() throws Exception {
        if (wakeUps != null) {
            wakeUps = null;
            getEndpoint().wakeUpSenders().release(database().dataSource());
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
        Placement placement = Placement.of(message, getEndpoint().getConfiguration(), getEndpoint().getChannel(),
                target.queueFeatures());
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
        getEndpoint().localWakeUps().wake(wakeUpChannel, getEndpoint().getChannel(), dueInMillis);
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
                    Placement.bind(insert, 6, placement);
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
     * (see {@link ProducerSettings#SAVE_SETTINGS}): one round trip either way.
     */
    private static String sql(String insert, Connection joined) {
        return joined == null ? insert
                : ProducerSettings.SAVE_SETTINGS + "; " + insert + "; " + ProducerSettings.RESTORE_SETTINGS;
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
                    next = Placement.bind(insert, 3, placement);
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
