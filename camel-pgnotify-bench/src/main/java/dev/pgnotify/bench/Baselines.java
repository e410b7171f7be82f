package dev.pgnotify.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * What PostgreSQL and pgjdbc do on their own, written plainly: the ceilings pgnotify is compared with. They use the
 * same table shape as pgnotify's queue (bench_queue) and the same body sizes.
 */
final class Baselines {

    static final String GROUP = "baseline";
    static final String CEILING_1 = "INSERT, 1 client";
    static final String CEILING_4 = "INSERT, 4 clients";
    static final String CEILING_TRIGGER_1 = "INSERT + notifying trigger, 1 client";
    static final String CEILING_TRIGGER_4 = "INSERT + notifying trigger, 4 clients";
    static final String LISTEN_LOOP = "pgjdbc LISTEN loop, pg_notify sender";
    static final String LISTEN_LOOP_1000 = "pgjdbc LISTEN loop at 1,000 msg/s";
    static final String PROMPT_LISTEN_LOOP_1000 = "pgjdbc LISTEN loop, pgnotify's socket, at 1,000 msg/s";
    static final String TRIGGER_LISTEN_1000 = "INSERT + notifying trigger + LISTEN at 1,000 msg/s";
    static final String BATCH_INSERT = "pgjdbc batch INSERT, 100 rows a transaction";
    static final String CLAIM_DELETE = "pgjdbc claim-and-delete (SKIP LOCKED, 100), %d client(s)";

    private final Bench bench;

    Baselines(Bench bench) {
        this.bench = bench;
    }

    void runAll() throws Exception {
        bench.sql("DROP TABLE IF EXISTS bench_ceiling", "CREATE TABLE bench_ceiling (LIKE bench_queue INCLUDING ALL)",
                "CREATE OR REPLACE FUNCTION bench_ceiling_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
                                                                                          + " BEGIN PERFORM pg_notify('bench_ceiling', NEW.id::text); RETURN NEW; END $$");
        bench.measure(GROUP, CEILING_1, "single-row INSERT transactions", () -> insertCeiling(1, false));
        bench.measure(GROUP, CEILING_4, "single-row INSERT transactions", () -> insertCeiling(4, false));
        bench.sql("CREATE TRIGGER bench_ceiling_notify AFTER INSERT ON bench_ceiling FOR EACH ROW"
                  + " EXECUTE FUNCTION bench_ceiling_notify()");
        bench.measure(GROUP, CEILING_TRIGGER_1, "the tutorial's design: a per-row trigger notifies each insert",
                () -> insertCeiling(1, true));
        bench.measure(GROUP, CEILING_TRIGGER_4, "the tutorial's design, concurrent writers",
                () -> insertCeiling(4, true));
        bench.measure(GROUP, TRIGGER_LISTEN_1000, "the tutorial's design end to end, its listener on pgnotify's"
                                                  + " low-latency socket: what a durable commit and a NOTIFY cost here",
                this::triggerListenAtRate);
        bench.measure(GROUP, LISTEN_LOOP, "getNotifications(100) loop fed by one pg_notify sender",
                () -> listenLoop(0, false));
        bench.measure(GROUP, LISTEN_LOOP_1000, "the same, at a fixed 1,000 msg/s", () -> listenLoop(1000, false));
        bench.measure(GROUP, PROMPT_LISTEN_LOOP_1000, "the same with the socket pgnotify's listener uses: the floor for"
                                                      + " mode=notify on this machine, without Camel",
                () -> listenLoop(1000, true));
        bench.measure(GROUP, BATCH_INSERT, "JDBC addBatch/executeBatch of 100 rows, one transaction each",
                this::batchInsert);
        for (int clients : new int[] { 1, 2, 4 }) {
            bench.measure(GROUP, String.format(CLAIM_DELETE, clients),
                    "DELETE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 100) RETURNING, over a backlog",
                    () -> claimAndDelete(clients));
        }
    }

    /** Single-row INSERT transactions for a fixed time, from each client's own connection. */
    private Run insertCeiling(int clients, boolean trigger) throws Exception {
        bench.sql("TRUNCATE bench_ceiling");
        long duration = TimeUnit.MILLISECONDS.toNanos(bench.options.millis(3000));
        AtomicLong inserted = new AtomicLong();
        String body = "x".repeat(100);
        long flushes = bench.walFlushes();
        long[] elapsed = inParallel(clients, () -> {
            try (Connection connection = bench.connect();
                 PreparedStatement insert = connection.prepareStatement(
                         "INSERT INTO bench_ceiling (channel, body_text, headers) VALUES ('bench', ?, '{}')")) {
                long end = System.nanoTime() + duration;
                while (System.nanoTime() < end) {
                    insert.setString(1, body);
                    insert.executeUpdate();
                    inserted.incrementAndGet();
                }
            }
            return null;
        });
        Run run = Run.throughputOnly(inserted.get() / (elapsed[0] / 1e9), inserted.get());
        return run.withThroughput(run.throughput(),
                Bench.walFlushesPerMessage(flushes, bench.walFlushes(), inserted.get()));
    }

    /**
     * A plain pgjdbc LISTEN loop with getNotifications(100), fed by one thread calling pg_notify: as fast as possible
     * (rate 0) or at a fixed rate.
     */
    private Run listenLoop(int rate, boolean promptSocket) throws Exception {
        int count = rate > 0 ? (int) (rate * bench.options.millis(3000) / 1000) : bench.options.count(10_000);
        Receiver receiver = new Receiver(count);
        AtomicBoolean listening = new AtomicBoolean(true);
        try (Connection listener = promptSocket ? promptListenerConnection() : bench.connect();
             Connection sender = bench.connect();
             PreparedStatement notify = sender.prepareStatement("SELECT pg_notify('bench_raw', ?)")) {
            try (Statement statement = listener.createStatement()) {
                statement.execute("LISTEN bench_raw");
            }
            Thread loop = listenLoop(listener, receiver, listening);
            Bench.Send send = seq -> {
                notify.setString(1, Receiver.body(seq, 100));
                notify.execute();
            };
            long[] sent = rate > 0 ? Bench.sendAtRate(rate, count, send) : Bench.sendAsFastAsPossible(1, count, send);
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            listening.set(false);
            loop.join(5000);
            return receiver.run(sent[0], "");
        }
    }

    /**
     * The tutorial's design at its best: single-row INSERTs at 1,000 a second, a per-row trigger that notifies the
     * row (its body included), and a LISTEN loop on the socket pgnotify uses. The latency from before the INSERT to
     * the notification's arrival is the floor for any durable queue on this server.
     */
    private Run triggerListenAtRate() throws Exception {
        bench.sql("TRUNCATE bench_ceiling", "CREATE OR REPLACE FUNCTION bench_ceiling_body() RETURNS trigger"
                                            + " LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('bench_ceiling_body', NEW.body_text);"
                                            + " RETURN NEW; END $$",
                "DROP TRIGGER IF EXISTS bench_ceiling_body ON bench_ceiling",
                "CREATE TRIGGER bench_ceiling_body AFTER INSERT ON bench_ceiling FOR EACH ROW"
                                                                                  + " EXECUTE FUNCTION bench_ceiling_body()");
        int count = (int) (1000 * bench.options.millis(3000) / 1000);
        Receiver receiver = new Receiver(count);
        AtomicBoolean listening = new AtomicBoolean(true);
        try (Connection listener = promptListenerConnection(); Connection writer = bench.connect();
             PreparedStatement insert = writer.prepareStatement(
                     "INSERT INTO bench_ceiling (channel, body_text, headers) VALUES ('bench', ?, '{}')")) {
            try (Statement statement = listener.createStatement()) {
                statement.execute("LISTEN bench_ceiling_body");
            }
            Thread loop = listenLoop(listener, receiver, listening);
            long[] sent = Bench.sendAtRate(1000, count, seq -> {
                insert.setString(1, Receiver.body(seq, 100));
                insert.executeUpdate();
            });
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            listening.set(false);
            loop.join(5000);
            return receiver.run(sent[0], "offered 1,000 msg/s");
        } finally {
            bench.sql("DROP TRIGGER IF EXISTS bench_ceiling_body ON bench_ceiling");
        }
    }

    /** A plain getNotifications(100) loop on its own thread, handing each payload to the receiver. */
    private static Thread listenLoop(Connection listener, Receiver receiver, AtomicBoolean listening) {
        Thread loop = new Thread(() -> {
            try {
                PGConnection pg = listener.unwrap(PGConnection.class);
                while (listening.get()) {
                    PGNotification[] notifications = pg.getNotifications(100);
                    if (notifications != null) {
                        for (PGNotification n : notifications) {
                            receiver.onMessage(n.getParameter());
                        }
                    }
                }
            } catch (Exception e) {
                listening.set(false);
            }
        }, "bench-listener");
        loop.start();
        return loop;
    }

    /** A plain pgjdbc connection on the socket pgnotify's listener uses ({@code LowLatencySocketFactory}). */
    private Connection promptListenerConnection() throws java.sql.SQLException {
        java.util.Properties properties = new java.util.Properties();
        if (bench.server.username() != null) {
            properties.setProperty("user", bench.server.username());
        }
        if (bench.server.password() != null) {
            properties.setProperty("password", bench.server.password());
        }
        properties.setProperty("socketFactory", dev.pgnotify.camel.connection.LowLatencySocketFactory.class.getName());
        return java.sql.DriverManager.getConnection(bench.server.jdbcUrl(), properties);
    }

    /** Batches of 100 rows, one transaction each, from one client. */
    private Run batchInsert() throws Exception {
        bench.sql("DROP TRIGGER IF EXISTS bench_ceiling_notify ON bench_ceiling", "TRUNCATE bench_ceiling");
        int rows = bench.options.count(50_000);
        String body = "x".repeat(100);
        try (Connection connection = bench.connect();
             PreparedStatement insert = connection.prepareStatement(
                     "INSERT INTO bench_ceiling (channel, body_text, headers) VALUES ('bench', ?, '{}')")) {
            connection.setAutoCommit(false);
            long start = System.nanoTime();
            for (int done = 0; done < rows; done += 100) {
                for (int i = 0; i < 100; i++) {
                    insert.setString(1, body);
                    insert.addBatch();
                }
                insert.executeBatch();
                connection.commit();
            }
            return Run.throughputOnly(rows / ((System.nanoTime() - start) / 1e9), rows);
        }
    }

    /** Claims and deletes 100 rows a statement until the backlog is gone, from each client's own connection. */
    private Run claimAndDelete(int clients) throws Exception {
        int backlog = bench.options.count(200_000);
        bench.sql("TRUNCATE bench_ceiling", "INSERT INTO bench_ceiling (channel, body_text, headers)"
                                             + " SELECT 'bench', repeat('x', 100), '{}' FROM generate_series(1, " + backlog + ")",
                "VACUUM ANALYZE bench_ceiling");
        AtomicLong claimed = new AtomicLong();
        CpuMeter cpu = new CpuMeter();
        long[] elapsed = inParallel(clients, () -> {
            try (Connection connection = bench.connect();
                 PreparedStatement claim = connection.prepareStatement(
                         "DELETE FROM bench_ceiling WHERE id IN (SELECT id FROM bench_ceiling WHERE channel = 'bench'"
                                                                        + " ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING id, body_text, headers")) {
                while (true) {
                    int rows = 0;
                    try (ResultSet rs = claim.executeQuery()) {
                        while (rs.next()) {
                            rs.getString(2);
                            rows++;
                        }
                    }
                    if (rows == 0) {
                        return null;
                    }
                    claimed.addAndGet(rows);
                }
            }
        });
        return new Run(claimed.get() / (elapsed[0] / 1e9), backlog, claimed.get(), 0, null,
                cpu.perThousand(claimed.get()));
    }

    /** Runs the task on that many threads at once; returns the elapsed nanoseconds. */
    private static long[] inParallel(int threads, Callable<Void> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long start = System.nanoTime();
            List<Future<Void>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                futures.add(pool.submit(task));
            }
            for (Future<Void> f : futures) {
                f.get(Bench.DELIVERY_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            }
            return new long[] { System.nanoTime() - start };
        } finally {
            pool.shutdownNow();
        }
    }
}
