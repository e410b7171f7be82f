package dev.pgnotify.camel.history;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.pgnotify.camel.PgNotifyConstants;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;

/**
 * Sends a plan's messages, each at its planned time (after the run's start), and records each send's begin and end:
 * through a pgnotify producer ({@link PlannedMessage.Path#CAMEL}, {@link PlannedMessage.Path#CHILD}), or by plain SQL
 * in a transaction that is rolled back or held open before it commits. A held transaction occupies no thread while it
 * waits: its commit is scheduled.
 * <p>
 * A send's outcome: ACK (the send returned, or the commit did), FAILED (an exception: the message may or may not be
 * stored), ROLLED_BACK. A send begun by a JVM killed before its end has no end at all.
 */
final class PlanProducer implements AutoCloseable {

    private static final AtomicInteger PRODUCERS = new AtomicInteger();

    private final EventLog events;
    private final String name;
    private final HistoryTarget target;
    private final ProducerTemplate template;
    private final Db db;
    private final ScheduledThreadPoolExecutor scheduler;
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private CountDownLatch done = new CountDownLatch(0);

    /**
     * @param template the pgnotify producer's template (for the Camel paths), or null
     * @param db       where the SQL publishers connect (straight to the server)
     */
    PlanProducer(EventLog events, String name, HistoryTarget target, ProducerTemplate template, Db db) {
        this.events = events;
        this.name = name;
        this.target = target;
        this.template = template;
        this.db = db;
        int producer = PRODUCERS.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        this.scheduler = new ScheduledThreadPoolExecutor(4, runnable -> {
            Thread thread = new Thread(runnable, "history-send-" + producer + "-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        // closing cancels the sends still to come and lets those in progress finish
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** Schedules the messages planned at or after {@code fromMillis} after the run's start. */
    synchronized void start(List<PlannedMessage> messages, long runStartMicros, long fromMillis) {
        List<PlannedMessage> due = messages.stream().filter(m -> m.offsetMillis() >= fromMillis).toList();
        done = new CountDownLatch(due.size());
        for (PlannedMessage message : due) {
            long delayMicros = runStartMicros + message.offsetMillis() * 1000 - EventLog.nowMicros();
            scheduler.schedule(() -> send(message), Math.max(0, delayMicros), TimeUnit.MICROSECONDS);
        }
    }

    /** Waits (bounded) until every scheduled send has ended. */
    boolean awaitDone(Duration timeout) throws InterruptedException {
        CountDownLatch latch;
        synchronized (this) {
            latch = done;
        }
        return latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void send(PlannedMessage message) {
        events.append(EventLog.SEND_BEGIN, "token", message.token(), "key", message.key(), "priority",
                message.priority(), "delay", message.delayMillis(), "plan", message.outcome(), "path", message.path(),
                "producer", name);
        switch (message.path()) {
            case CAMEL, CHILD -> sendWithCamel(message);
            case SQL_ROLLBACK, SQL_LONG -> beginSqlSend(message);
            default -> throw new IllegalStateException(message.path().toString());
        }
    }

    private void sendWithCamel(PlannedMessage message) {
        try {
            Exchange sent = template.send(target.producerUri(), exchange -> {
                exchange.getMessage().setBody(message.body());
                if (message.key() != null) {
                    exchange.getMessage().setHeader(PgNotifyConstants.KEY, message.key());
                }
                if (message.priority() > 0) {
                    exchange.getMessage().setHeader(PgNotifyConstants.PRIORITY, message.priority());
                }
                if (message.delayMillis() > 0) {
                    exchange.getMessage().setHeader(PgNotifyConstants.DELAY, message.delayMillis());
                }
            });
            if (sent.getException() != null) {
                ended(message, null, "FAILED", sent.getException());
            } else {
                ended(message, sent.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class), "ACK", null);
            }
        } catch (RuntimeException e) {
            ended(message, null, "FAILED", e);
        }
    }

    /** Inserts in a transaction of its own and schedules its end: a commit, or a rollback, after the hold. */
    private void beginSqlSend(PlannedMessage message) {
        Connection connection = null;
        try {
            connection = db.connect();
            open.add(connection);
            connection.setAutoCommit(false);
            long id;
            try (PreparedStatement insert = connection.prepareStatement(target.insertSql())) {
                insert.setString(1, target.channel());
                insert.setString(2, message.body());
                insert.setString(3, message.key());
                if (!target.topic()) {
                    insert.setInt(4, message.priority());
                    insert.setLong(5, message.delayMillis());
                }
                try (ResultSet rs = insert.executeQuery()) {
                    rs.next();
                    id = rs.getLong(1);
                }
            }
            Connection held = connection;
            scheduler.schedule(() -> endSqlSend(message, held, id), message.holdMillis(), TimeUnit.MILLISECONDS);
        } catch (SQLException | RuntimeException e) {
            close(connection);
            ended(message, null, "FAILED", e);
        }
    }

    private void endSqlSend(PlannedMessage message, Connection connection, long id) {
        try {
            if (message.path() == PlannedMessage.Path.SQL_ROLLBACK) {
                connection.rollback();
                ended(message, id, "ROLLED_BACK", null);
            } else {
                connection.commit();
                ended(message, id, "ACK", null);
            }
        } catch (SQLException | RuntimeException e) {
            // a rollback that failed rolled back all the same: the server ends a transaction whose session is gone
            ended(message, id, message.path() == PlannedMessage.Path.SQL_ROLLBACK ? "ROLLED_BACK" : "FAILED", e);
        } finally {
            close(connection);
        }
    }

    private void ended(PlannedMessage message, Long id, String outcome, Throwable error) {
        try {
            events.append(EventLog.SEND_END, "token", message.token(), "id", id, "outcome", outcome, "error",
                    error == null ? null : error.getClass().getSimpleName() + ": " + error.getMessage(), "producer", name);
        } finally {
            done.countDown();
        }
    }

    private void close(Connection connection) {
        if (connection != null) {
            open.remove(connection);
            try {
                connection.close();
            } catch (SQLException e) {
                // closing: a transaction still open is rolled back by the server
            }
        }
    }

    /** Stops sending; transactions still held open are closed (so rolled back) without an end event. */
    @Override
    public void close() throws InterruptedException {
        scheduler.shutdown();
        if (!scheduler.awaitTermination(30, TimeUnit.SECONDS)) {
            scheduler.shutdownNow();
            scheduler.awaitTermination(10, TimeUnit.SECONDS);
        }
        open.forEach(this::close);
    }
}
