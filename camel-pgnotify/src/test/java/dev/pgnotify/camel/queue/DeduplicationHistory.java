package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.queue.DeduplicationModel.Message;
import dev.pgnotify.camel.test.PgTestServer;
import net.jqwik.api.statistics.Statistics;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A history of {@link DeduplicationLifecycleIT}, replayed on the server and on a model of the deduplication ids at
 * once: each step is applied to both, and {@link #check()} compares what the tables hold with what the model says.
 * The clock is moved by moving every window's end back; a window of a minute still runs after one move (40 s) and is
 * over after two (80 s), whatever the test's own pace, so long as a history takes less than 20 s.
 */
final class DeduplicationHistory implements AutoCloseable {

    static final String TABLE = "dedup_lifecycle_queue";
    static final String CHANNEL = "dedup_lifecycle";
    static final String[] IDS = { "a", "b", "c" };
    /** How far the clock moves at a time: a window of a minute runs after one move and is over after two. */
    private static final int SHIFT_SECONDS = 40;
    /** Windows of 0, a minute and forever. */
    static final long[] WINDOWS = { 0, DeduplicationModel.MINUTE, DeduplicationModel.FOREVER };
    static final int MAX_ATTEMPTS = 3;
    private static final Duration BOUND = Duration.ofSeconds(10);

    enum Kind {
        /** The endpoint sends the id with the step's window. */
        SEND,
        /** One of two SQL transactions (begun with the step's window if not open) sends the id. */
        TX_SEND,
        TX_COMMIT,
        TX_ROLLBACK,
        /** The id's message, once delivered, succeeds. */
        ACK,
        /** The id's message, once delivered, fails: retried, or dead-lettered if that was its last attempt. */
        FAIL,
        /** The id's message fails its every delivery from now on: dead-lettered. */
        DEAD,
        /** The clock moves on 40 s. */
        TIME,
        /** The consumers' sweep forgets expired ids. */
        SWEEP
    }

    record Step(Kind kind, int id, int window, int transaction) {
        @Override
        public String toString() {
            String on = kind.name().startsWith("TX_") ? "#" + transaction : "";
            return kind + on + "(" + (kind == Kind.TX_COMMIT || kind == Kind.TX_ROLLBACK ? ""
                    : IDS[id] + (kind == Kind.SEND || kind == Kind.TX_SEND ? ", " + WINDOWS[window] : "")) + ")";
        }
    }

    /** A send by the endpoint that waits for the open transaction. */
    private record Waiting(int id, Message message, CompletableFuture<Exchange> sent) {
    }

    private final ProducerTemplate template;
    private final DeliveryGates gates;
    private final QueueSql sql;
    private final ExecutorService waitingSends;
    private final DeduplicationModel model = new DeduplicationModel(IDS);
    private final List<Step> done = new ArrayList<>();
    private final Connection check;
    private final TransactionalSender[] transactions = { new TransactionalSender("#0"),
            new TransactionalSender("#1") };
    /** A send by the endpoint that waits for a transaction. */
    private Waiting waiting;

    DeduplicationHistory(ProducerTemplate template, DeliveryGates gates, QueueSql sql,
                         ExecutorService waitingSends) throws SQLException {
        this.template = template;
        this.gates = gates;
        this.sql = sql;
        this.waitingSends = waitingSends;
        check = PgTestServer.get().connect();
    }

    private String where() {
        return " (after " + done + ")";
    }

    void apply(Step step) throws Exception {
        done.add(step);
        switch (step.kind()) {
            case SEND -> send(step.id(), WINDOWS[step.window()]);
            case TX_SEND -> transactionSend(transactions[step.transaction()], step.id(), WINDOWS[step.window()]);
            case TX_COMMIT -> endTransaction(transactions[step.transaction()], true);
            case TX_ROLLBACK -> endTransaction(transactions[step.transaction()], false);
            case ACK -> complete(step.id(), true, false);
            case FAIL -> complete(step.id(), false, false);
            case DEAD -> complete(step.id(), false, true);
            case TIME -> moveClock();
            case SWEEP -> sweep();
            default -> throw new IllegalStateException(step.toString());
        }
    }

    private void send(int id, long window) throws Exception {
        Message message = new Message(window);
        if (takenByATransaction(id) != null) {
            if (waiting != null || waitedFor(id)) {
                return;
            }
            CompletableFuture<Exchange> sent = CompletableFuture.supplyAsync(() -> endpointSend(id, message),
                    waitingSends);
            awaitWaiting(sent);
            waiting = new Waiting(id, message, sent);
            Statistics.label("paths").collect("a send waited for a transaction");
            return;
        }
        boolean free = model.free(id);
        Statistics.label("paths").collect(free ? (model.hasRow(id) ? "a send took an id whose window was over"
                : "a send took a new id") : model.live(id) != null ? "a send refused: in flight"
                : "a send refused: in its window");
        accepted(id, message, endpointSend(id, message), free);
    }

    /** Checks the endpoint's answer against the model's, and takes the id in the model if it was enqueued. */
    private void accepted(int id, Message message, Exchange sent, boolean expected) {
        if (sent.getException() != null) {
            // a timeout: it waited for a transaction that was refused the id (D6)
            throw new AssertionError("D6: the send failed" + where(), sent.getException());
        }
        Boolean duplicate = sent.getMessage().getHeader(PgNotifyConstants.DUPLICATE, Boolean.class);
        Long messageId = sent.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class);
        assertEquals(!expected, duplicate, (expected ? "D3: a free id refused: " : "D1/D2: a taken id enqueued: ")
                                           + IDS[id] + where());
        if (expected) {
            assertNotNull(messageId, "D3: an enqueued message without its id" + where());
            message.id = messageId;
            model.taken(id, message);
        } else {
            assertNull(messageId, "D3: a refused send returned a message id" + where());
        }
    }

    private void transactionSend(TransactionalSender sender, int id, long window) throws Exception {
        if (sender.waiting != null) {
            // its connection waits for the other transaction
            return;
        }
        if (!sender.open()) {
            sender.begin(window);
        }
        Message message = new Message(sender.window());
        TransactionalSender taker = takenByATransaction(id);
        if (taker != null && taker != sender) {
            // it waits for the other, unless someone waits for that id already or the other waits for it (a deadlock)
            if (waiting != null && waiting.id() == id || waitedFor(id)
                || taker.waiting != null && taker.waiting.blockedBy() == sender) {
                return;
            }
            CompletableFuture<Long> sent = sender.sendLater(message.token, IDS[id], waitingSends);
            awaitWaiting(sent);
            sender.waiting = new TransactionalSender.Waiting(id, message, sent, taker);
            Statistics.label("paths").collect("a transaction waited for another");
            return;
        }
        boolean expected = taker == null && model.free(id);
        if (expected && model.hasRow(id)) {
            Statistics.label("paths").collect("a transaction took an id whose window was over");
        }
        if (!expected) {
            Statistics.label("paths").collect("a transaction refused an id");
            sender.refused = true;
        }
        Long enqueued = sender.send(message.token, IDS[id]);
        assertEquals(expected, enqueued != null, (expected ? "D3: a free id refused in transaction "
                : "D1/D2: a taken id enqueued in transaction ") + sender.name + ": " + IDS[id] + where());
        if (enqueued != null) {
            message.id = enqueued;
            sender.taking.put(id, message);
        }
    }

    private void endTransaction(TransactionalSender chosen, boolean commit) throws Exception {
        // one that waits cannot end: the one it waits for does (so that races are decided often)
        TransactionalSender sender = chosen.waiting != null ? chosen.waiting.blockedBy() : chosen;
        if (!sender.open() || sender.waiting != null) {
            return;
        }
        Map<Integer, Message> took = new HashMap<>(sender.taking);
        sender.end(commit);
        if (commit) {
            took.forEach(model::taken);
        }
        // who waited for it: refused once it committed what they sent, enqueued once it rolled back (the id is free)
        if (waiting != null && took.containsKey(waiting.id())) {
            Exchange sent;
            try {
                sent = waiting.sent().get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("D4: a send waited on after the transaction ended" + where(), e);
            }
            accepted(waiting.id(), waiting.message(), sent, !commit);
            waiting = null;
        }
        for (TransactionalSender other : transactions) {
            TransactionalSender.Waiting waited = other.waiting;
            if (waited == null || waited.blockedBy() != sender) {
                continue;
            }
            Long enqueued;
            try {
                enqueued = waited.sent().get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("D4: transaction " + other.name + " waited on after " + sender.name
                                         + " ended" + where(), e);
            }
            other.waiting = null;
            assertEquals(!commit, enqueued != null, (commit ? "D1: both transactions took " : "D3: refused ")
                                                    + IDS[waited.id()] + " in " + other.name + where());
            if (enqueued != null) {
                waited.message().id = enqueued;
                other.taking.put(waited.id(), waited.message());
            } else {
                // it lost the race, and stays open: it must hold nothing (D6)
                other.refused = true;
                other.lostARace = true;
                Statistics.label("paths").collect("a transaction lost a race and stayed open");
            }
        }
    }

    /** The transaction taking that id (its message not committed yet), or null. */
    private TransactionalSender takenByATransaction(int id) {
        for (TransactionalSender sender : transactions) {
            if (sender.taking.containsKey(id)) {
                return sender;
            }
        }
        return null;
    }

    /** Whether a transaction's send of that id waits for another. */
    private boolean waitedFor(int id) {
        for (TransactionalSender sender : transactions) {
            if (sender.waiting != null && sender.waiting.id() == id) {
                return true;
            }
        }
        return false;
    }

    /** Returns once the send waits for a lock; fails if it ended first (it did not wait for the id's taker). */
    private void awaitWaiting(CompletableFuture<?> sent) {
        Awaitility.await().atMost(BOUND).pollInterval(Duration.ofMillis(5))
                .until(() -> sent.isDone() || waitsForALock());
        assertFalse(sent.isDone(), "D4: a send of an id a transaction is taking did not wait for it" + where());
    }

    /** Decides the current delivery of the id's message, once it has arrived in the route. */
    private void complete(int id, boolean succeed, boolean forGood) throws Exception {
        Message message = model.live(id);
        if (message == null) {
            return;
        }
        try {
            gates.arrival(message.token, message.delivery).get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("delivery " + message.delivery + " of " + IDS[id] + "'s message "
                                     + message.id + " never came" + where(), e);
        }
        boolean last = forGood || message.delivery == MAX_ATTEMPTS;
        if (succeed) {
            gates.succeed(message.token, message.delivery);
        } else if (!last) {
            gates.fail(message.token, message.delivery);
            message.delivery++;
            return;
        } else {
            gates.failFrom(message.token, message.delivery);
        }
        // D6: completed while a producer refused this id (or any other) may hold its transaction open
        for (TransactionalSender sender : transactions) {
            if (sender.lostARace) {
                Statistics.label("paths").collect("completed while a transaction that lost a race was open");
            } else if (sender.refused) {
                Statistics.label("paths").collect("completed while a transaction refused an id was open");
            }
        }
        String gone = "SELECT count(*) FROM " + TABLE + " WHERE id = " + message.id;
        try {
            Awaitility.await().atMost(BOUND).pollInterval(Duration.ofMillis(5))
                    .until(() -> count(gone) == 0);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("D6: " + IDS[id] + "'s message " + message.id + " did not complete"
                                     + where(), e);
        }
        if (!succeed) {
            assertEquals(1, count("SELECT count(*) FROM " + TABLE + "_dead WHERE id = " + message.id),
                    "dead-lettered" + where());
        }
        model.completed(id);
    }

    private void moveClock() throws SQLException {
        if (transactions[0].open() || transactions[1].open()) {
            // the move would wait for a row a transaction took again
            return;
        }
        try (PreparedStatement move = check.prepareStatement("UPDATE " + TABLE + "_dedup SET until = until"
                + " - interval '" + SHIFT_SECONDS + " seconds' WHERE channel = ?")) {
            move.setString(1, CHANNEL);
            move.executeUpdate();
        }
        model.clockMoved();
    }

    private void sweep() throws SQLException {
        List<Integer> forgettable = new ArrayList<>();
        for (int id = 0; id < IDS.length; id++) {
            // an id a transaction takes again is locked: left for a later sweep
            if (model.over(id) && takenByATransaction(id) == null) {
                forgettable.add(id);
            }
        }
        int forgotten;
        try (Connection sweeper = PgTestServer.get().connect();
             PreparedStatement forget = sweeper.prepareStatement(sql.forgetDeduplications)) {
            forgotten = WorkRows.executeWrite(forget);
        }
        assertEquals(forgettable.size(), forgotten, "D5: ids forgotten, of " + forgettable + where());
        if (forgotten > 0) {
            Statistics.label("paths").collect("the sweep forgot an id");
        }
        if (forgettable.size() < model.over(id -> false)) {
            Statistics.label("paths").collect("the sweep left an id a transaction took again");
        }
        forgettable.forEach(model::forgotten);
    }

    /** D1, D2, D5 as the table shows them (what is committed). */
    void check() throws SQLException {
        Map<String, Long> messages = new HashMap<>();
        try (PreparedStatement query = check.prepareStatement("SELECT dedup_id, count(*) FROM " + TABLE
                + " WHERE channel = ? GROUP BY dedup_id")) {
            query.setString(1, CHANNEL);
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    messages.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        Map<String, String> rows = new HashMap<>();
        try (PreparedStatement query = check.prepareStatement("SELECT dedup_id, CASE WHEN until = 'infinity'"
                + " THEN 'taken' WHEN until >= clock_timestamp() THEN 'window' ELSE 'over' END FROM " + TABLE
                + "_dedup WHERE channel = ?")) {
            query.setString(1, CHANNEL);
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    rows.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        assertEquals(model.messages(), messages, "D1: the queue's messages by id" + where());
        assertEquals(model.rows(), rows, "D1/D2/D5: the deduplication table" + where());
    }

    private boolean waitsForALock() throws SQLException {
        return count("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                     + " AND datname = current_database()") > 0;
    }

    private long count(String query) throws SQLException {
        try (PreparedStatement statement = check.prepareStatement(query); ResultSet rs = statement.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Rolls back what is open, lets every message succeed, and empties the channel for the next history. */
    @Override
    public void close() throws Exception {
        try {
            // one that waits for the other first: it ends when the other does
            for (int round = 0; round < 2; round++) {
                for (TransactionalSender sender : transactions) {
                    if (sender.open() && sender.waiting == null) {
                        endTransaction(sender, false);
                    }
                }
            }
        } finally {
            gates.release();
            try {
                Awaitility.await().atMost(BOUND).pollInterval(Duration.ofMillis(10))
                        .until(() -> count("SELECT count(*) FROM " + TABLE + " WHERE channel = '" + CHANNEL
                                           + "'") == 0);
                try (PreparedStatement clear = check.prepareStatement("DELETE FROM " + TABLE + "_dedup;"
                        + " DELETE FROM " + TABLE + "_dead")) {
                    clear.execute();
                }
            } finally {
                gates.reset();
                check.close();
            }
        }
    }

    private Exchange endpointSend(int id, Message message) {
        String window = message.window == 0 ? "" : "&deduplicationWindow=" + message.window;
        // bounded well below the waits of the history, so that a send that waits fails soon
        return template.send("pgnotify:" + CHANNEL + "?table=" + TABLE + "&statementTimeout=5000" + window,
                exchange -> {
                    exchange.getMessage().setBody(message.token);
                    exchange.getMessage().setHeader(PgNotifyConstants.DEDUPLICATION_ID, IDS[id]);
                });
    }
}
