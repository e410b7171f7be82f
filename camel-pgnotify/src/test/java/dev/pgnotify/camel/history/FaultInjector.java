package dev.pgnotify.camel.history;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.test.FreezingProxy;
import dev.pgnotify.camel.test.PgTestServer;

/**
 * Injects a plan's faults at their planned times, one at a time on a thread of its own, and records each one's begin
 * and end (with the JVM or backends it hit) in the run's own event file. A fault that holds (frozen connections, a
 * session holding an xid or a snapshot) schedules its own end, so that other faults go on meanwhile. A fault that
 * fails (a kill of a producer that has finished) is recorded with its error; the run goes on.
 */
final class FaultInjector implements AutoCloseable {

    /** What the faults act on. */
    record Targets(PgTestServer server, FreezingProxy proxy, ActorSlots consumers, ActorSlots producer, Db db,
                   HistoryTarget target) {
    }

    private final List<PlannedFault> faults;
    private final EventLog events;
    private final Targets on;
    private final ScheduledExecutorService scheduler;
    private final Set<Connection> held = ConcurrentHashMap.newKeySet();
    private final CountDownLatch ended;

    FaultInjector(List<PlannedFault> faults, EventLog events, Targets on) {
        this.faults = faults;
        this.events = events;
        this.on = on;
        this.ended = new CountDownLatch(faults.size());
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "history-faults");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        // closing cancels the faults still to come, but lets the one in progress finish (a server half restarted)
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.scheduler = scheduler;
    }

    /** Schedules every fault at its time after the run's start. */
    void start(long runStartMicros) {
        for (int i = 0; i < faults.size(); i++) {
            PlannedFault fault = faults.get(i);
            int number = i;
            long delay = runStartMicros + fault.offsetMillis() * 1000 - EventLog.nowMicros();
            scheduler.schedule(() -> inject(number, fault), Math.max(0, delay), TimeUnit.MICROSECONDS);
        }
    }

    /** Waits (bounded) until every fault has ended, holds included. */
    boolean awaitDone(Duration timeout) throws InterruptedException {
        return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void inject(int number, PlannedFault fault) {
        String jvm = null;
        try {
            switch (fault.kind()) {
                case KILL_CONSUMER -> {
                    int slot = fault.target() % on.consumers().size();
                    jvm = on.consumers().name(slot);
                    begin(number, fault, jvm, null);
                    on.consumers().kill(slot);
                    end(number, fault, jvm, "replacement=" + on.consumers().replace(slot), null);
                }
                case KILL_PRODUCER -> killProducer(number, fault);
                case TERMINATE_BACKENDS -> terminateBackends(number, fault);
                case FREEZE_CONNECTIONS -> {
                    begin(number, fault, "consumers", null);
                    on.proxy().freezeOpenConnections();
                    scheduler.schedule(() -> end(number, fault, "consumers",
                            "closed=" + on.proxy().closeFrozenConnections(), null), fault.holdMillis(),
                            TimeUnit.MILLISECONDS);
                }
                case SERVER_RESTART, SERVER_CRASH -> {
                    begin(number, fault, "server", null);
                    on.server().stop(fault.kind() == FaultKind.SERVER_RESTART ? PgTestServer.StopMode.FAST
                            : PgTestServer.StopMode.IMMEDIATE);
                    on.server().start();
                    end(number, fault, "server", null, null);
                }
                case IDLE_IN_TRANSACTION -> hold(number, fault, "SELECT txid_current()", false);
                case HELD_SNAPSHOT -> hold(number, fault, "SELECT count(*) FROM " + on.target().table(), true);
                case FORCED_LEASE_EXPIRY -> expireLeases(number, fault);
                default -> throw new IllegalStateException("not a scheduled fault: " + fault.kind());
            }
        } catch (Exception e) {
            end(number, fault, jvm, null, e);
        }
    }

    private void killProducer(int number, PlannedFault fault) throws Exception {
        ActorSlots producer = on.producer();
        ActorJvm actor = producer == null ? null : producer.actor(0);
        if (actor == null || !actor.isAlive() || actor.awaitDone(Duration.ZERO)) {
            begin(number, fault, null, "skipped: no producer JVM sending");
            end(number, fault, null, "skipped", null);
            return;
        }
        begin(number, fault, actor.name(), null);
        producer.kill(0);
        end(number, fault, actor.name(), "replacement=" + producer.replace(0), null);
    }

    private void terminateBackends(int number, PlannedFault fault) throws SQLException {
        try (Connection connection = on.db().connect(); Statement statement = connection.createStatement()) {
            List<Integer> pids = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery("SELECT pid FROM pg_stat_activity"
                                                       + " WHERE application_name LIKE 'camel-pgnotify%' ORDER BY pid")) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
            // which backends: drawn from the plan's number (the pids themselves differ from run to run)
            SplittableRandom random = new SplittableRandom(fault.target());
            List<Integer> chosen = new ArrayList<>();
            int count = pids.isEmpty() ? 0 : 1 + random.nextInt(pids.size());
            while (chosen.size() < count) {
                chosen.add(pids.remove(random.nextInt(pids.size())));
            }
            begin(number, fault, "pids=" + chosen, null);
            for (int pid : chosen) {
                statement.execute("SELECT pg_terminate_backend(" + pid + ")");
            }
            end(number, fault, "pids=" + chosen, "of=" + (chosen.size() + pids.size()), null);
        }
    }

    /** A session that holds an xid (or a REPEATABLE READ snapshot) for the fault's time, then rolls back. */
    private void hold(int number, PlannedFault fault, String query, boolean snapshot) throws SQLException {
        Connection connection = on.db().connect();
        held.add(connection);
        try {
            connection.setAutoCommit(false);
            if (snapshot) {
                connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            }
            begin(number, fault, "session", null);
            try (Statement statement = connection.createStatement()) {
                statement.executeQuery(query).close();
            }
        } catch (SQLException | RuntimeException e) {
            release(connection);
            throw e;
        }
        scheduler.schedule(() -> {
            try {
                connection.rollback();
                end(number, fault, "session", null, null);
            } catch (SQLException e) {
                // a restart in between ended the session already
                end(number, fault, "session", null, e);
            } finally {
                release(connection);
            }
        }, fault.holdMillis(), TimeUnit.MILLISECONDS);
    }

    private void expireLeases(int number, PlannedFault fault) throws SQLException {
        try (Connection connection = on.db().connect(); Statement statement = connection.createStatement()) {
            begin(number, fault, "leases", null);
            int rows = statement.executeUpdate("UPDATE " + on.target().leasedTable()
                                               + " SET available_at = now() WHERE attempts > 0 AND available_at > now()");
            end(number, fault, "leases", "rows=" + rows, null);
        }
    }

    private void begin(int number, PlannedFault fault, String jvm, String detail) {
        events.append(EventLog.FAULT_BEGIN, "fault", number, "kind", fault.kind(), "jvm", jvm, "hold",
                fault.holdMillis(), "detail", detail);
    }

    private void end(int number, PlannedFault fault, String jvm, String detail, Exception error) {
        events.append(EventLog.FAULT_END, "fault", number, "kind", fault.kind(), "jvm", jvm, "detail", detail,
                "error", error == null ? null : error.toString());
        ended.countDown();
    }

    private void release(Connection connection) {
        held.remove(connection);
        try {
            connection.close();
        } catch (SQLException e) {
            // closing
        }
    }

    /** Stops injecting; what still holds is released (sessions closed, frozen connections closed). */
    @Override
    public void close() throws InterruptedException {
        scheduler.shutdown();
        // bounded: a server start and a replacement JVM's start are each bounded (60 s, 90 s)
        if (!scheduler.awaitTermination(150, TimeUnit.SECONDS)) {
            scheduler.shutdownNow();
            scheduler.awaitTermination(10, TimeUnit.SECONDS);
        }
        held.forEach(this::release);
        on.proxy().closeFrozenConnections();
    }
}
