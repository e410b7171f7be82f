package dev.pgnotify.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PgQue 0.2.0 beside mode=topic in the same run: PgQ's snapshot batches, the design mode=topic starts from, as a
 * single SQL file. It is loaded at run time from bench.pgque (default ../shared/baselines/pgque/pgque.sql, outside
 * the project; it is never copied in) and skipped, with a line in the log, where that file is not. Driven as PgQue's
 * own latency benchmark drives it: the benchmark's ticker calls {@code pgque.ticker()} every 10 ms with
 * {@code ticker_max_count=1} (so that every call with new events makes a batch); each consumer LISTENs for PgQue's
 * tick notification (with a 100 ms poll besides), receives a whole batch and acknowledges it. Two consumers, each
 * subscribed on its own: PgQue's counterpart of two groups.
 */
final class PgQueBaseline {

    private static final Logger LOG = LoggerFactory.getLogger(PgQueBaseline.class);

    static final String PER_GROUP = "PgQue, 1 producer thread, 2 consumers, delivered per consumer";
    static final String AT_1000 = "PgQue at 1,000 msg/s, 2 consumers";
    static final String DRAIN = "PgQue, drain a %,d backlog, 2 consumers in parallel";
    private static final String QUEUE = "bench_pgque";
    private static final int CONSUMERS = 2;

    private final Bench bench;
    private final Path install;
    private boolean installed;

    PgQueBaseline(Bench bench) {
        this.bench = bench;
        this.install = Path.of(System.getProperty("bench.pgque", "../shared/baselines/pgque/pgque.sql"));
    }

    void runAll() throws Exception {
        if (!install()) {
            return;
        }
        bench.measure(TopicWorkloads.TOPIC, PER_GROUP, "as fast as one thread sends (pgque.send, one a transaction);"
                                                       + " ticker every 10 ms", () -> endToEnd(0, bench.options.count(6_000)));
        int rateCount = (int) (1000 * bench.options.millis(3000) / 1000);
        bench.measure(TopicWorkloads.TOPIC, AT_1000, "open model, one message every millisecond; ticker every 10 ms;"
                                                     + " latency over both consumers' deliveries", () -> endToEnd(1000, rateCount));
        int backlog = bench.options.count(200_000);
        bench.measure(TopicWorkloads.TOPIC, String.format(DRAIN, backlog), "published in transactions of 100 while the"
                                                                          + " ticker runs; the rate counts both consumers' deliveries", () -> drain(backlog));
    }

    /** Loads PgQue once into the benchmark's database; false (and a log line) when its file is not there. */
    private boolean install() throws Exception {
        if (installed) {
            return true;
        }
        if (!Files.isRegularFile(install)) {
            LOG.info("PgQue not measured: no {} (-Dbench.pgque=<path of pgque.sql>)", install.toAbsolutePath());
            return false;
        }
        if (!bench.options.selects(PER_GROUP) && !bench.options.selects(AT_1000) && !bench.options.selects("PgQue")) {
            return false;
        }
        try (Connection connection = bench.connect(); Statement statement = connection.createStatement()) {
            connection.setAutoCommit(false);
            statement.execute("DROP SCHEMA IF EXISTS pgque CASCADE");
            statement.execute(Files.readString(install));
            connection.commit();
        }
        installed = true;
        return true;
    }

    /** A fresh queue whose every ticker call with new events makes a batch, its consumers subscribed. */
    private void createQueue() throws SQLException {
        bench.sql("SELECT pgque.drop_queue('" + QUEUE + "', true) FROM pgque.queue WHERE queue_name = '" + QUEUE + "'",
                "SELECT pgque.create_queue('" + QUEUE + "')",
                "SELECT pgque.set_queue_config('" + QUEUE + "', 'ticker_max_count', '1')",
                "SELECT pgque.set_queue_config('" + QUEUE + "', 'ticker_max_lag', '1 millisecond')",
                "SELECT pgque.set_queue_config('" + QUEUE + "', 'ticker_idle_period', '1 millisecond')");
        for (int c = 0; c < CONSUMERS; c++) {
            bench.sql("SELECT pgque.subscribe('" + QUEUE + "', 'c" + c + "')");
        }
    }

    /** Sends at a rate (0: as fast as one thread can), the two consumers receiving meanwhile. */
    private Run endToEnd(double rate, int count) throws Exception {
        createQueue();
        Receiver receiver = new Receiver(count * CONSUMERS);
        AtomicBoolean running = new AtomicBoolean(true);
        ExecutorService threads = Executors.newFixedThreadPool(CONSUMERS + 1);
        try (Connection producer = bench.connect();
             PreparedStatement send = producer.prepareStatement("SELECT pgque.send(?, ?::text)")) {
            List<Future<?>> started = start(threads, count, receiver, running);
            send.setString(1, QUEUE);
            Bench.Send one = seq -> {
                send.setString(2, Receiver.body(seq, 100));
                send.executeQuery().close();
            };
            long[] sent = rate > 0 ? Bench.sendAtRate(rate, count, one) : Bench.sendAsFastAsPossible(1, count, one);
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            stop(running, started, threads);
            Run run = receiver.run(sent[0], rate > 0
                    ? String.format(Locale.ROOT, "offered %,d msg/s to %d consumers", Math.round(rate), CONSUMERS)
                    : String.format(Locale.ROOT, "sent %,d msg/s", Math.round(count / (sent[1] / 1e9))));
            return run.withThroughput(run.throughput() / CONSUMERS, run.detail());
        } finally {
            threads.shutdownNow();
        }
    }

    /** A backlog published while the ticker runs, then drained by both consumers at once. */
    private Run drain(int backlog) throws Exception {
        createQueue();
        Receiver receiver = new Receiver(backlog * CONSUMERS);
        AtomicBoolean ticking = new AtomicBoolean(true);
        ExecutorService threads = Executors.newFixedThreadPool(CONSUMERS + 1);
        try {
            Future<?> ticker = threads.submit(() -> tick(ticking));
            try (Connection producer = bench.connect(); PreparedStatement send = producer.prepareStatement(
                    "SELECT pgque.send_batch(?, ARRAY(SELECT g || ':0:' || repeat('x', 90) FROM generate_series(?, ?) AS g))")) {
                for (int first = 0; first < backlog; first += 100) {
                    send.setString(1, QUEUE);
                    send.setInt(2, first);
                    send.setInt(3, Math.min(backlog, first + 100) - 1);
                    send.executeQuery().close();
                }
            }
            ticking.set(false);
            ticker.get(10, TimeUnit.SECONDS);
            bench.sql("SELECT pgque.ticker()");
            AtomicBoolean running = new AtomicBoolean(true);
            long start = System.nanoTime();
            List<Future<?>> consumers = new ArrayList<>();
            for (int c = 0; c < CONSUMERS; c++) {
                int consumer = c;
                consumers.add(threads.submit(() -> consume(consumer, backlog, receiver, running)));
            }
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            running.set(false);
            for (Future<?> f : consumers) {
                f.get(10, TimeUnit.SECONDS);
            }
            Run run = receiver.run(start, "");
            return new Run(run.throughput(), run.expected(), run.delivered(), run.duplicates(), null,
                    String.format(Locale.ROOT, "%,d msg/s per consumer", Math.round(run.throughput() / CONSUMERS)));
        } finally {
            threads.shutdownNow();
        }
    }

    private List<Future<?>> start(ExecutorService threads, int perConsumer, Receiver receiver, AtomicBoolean running) {
        List<Future<?>> started = new ArrayList<>();
        started.add(threads.submit(() -> tick(running)));
        for (int c = 0; c < CONSUMERS; c++) {
            int consumer = c;
            started.add(threads.submit(() -> consume(consumer, perConsumer, receiver, running)));
        }
        return started;
    }

    private static void stop(AtomicBoolean running, List<Future<?>> started, ExecutorService threads) throws Exception {
        running.set(false);
        for (Future<?> f : started) {
            f.get(10, TimeUnit.SECONDS);
        }
        threads.shutdown();
    }

    /** pgque.ticker() every 10 ms, as pg_cron would with PgQue's own latency settings. */
    private Void tick(AtomicBoolean running) throws Exception {
        try (Connection connection = bench.connect(); Statement statement = connection.createStatement()) {
            long next = System.nanoTime();
            while (running.get()) {
                statement.execute("SELECT pgque.ticker()");
                next += 10_000_000L;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
        }
        return null;
    }

    /** One consumer: waits for a tick's notification (or 100 ms), then receives and acknowledges batches until none. */
    private Void consume(int consumer, int perConsumer, Receiver receiver, AtomicBoolean running)
            throws Exception {
        int offset = consumer * perConsumer;
        try (Connection connection = bench.connect();
             PreparedStatement receive = connection.prepareStatement(
                     "SELECT batch_id, payload FROM pgque.receive(?, ?, 1000000)");
             PreparedStatement ack = connection.prepareStatement("SELECT pgque.ack(?)")) {
            try (Statement listen = connection.createStatement()) {
                listen.execute("LISTEN pgque_" + QUEUE);
            }
            receive.setString(1, QUEUE);
            receive.setString(2, "c" + consumer);
            PGConnection notifications = connection.unwrap(PGConnection.class);
            while (running.get()) {
                long batch = -1;
                try (ResultSet rs = receive.executeQuery()) {
                    while (rs.next()) {
                        batch = rs.getLong(1);
                        receiver.onMessage(rs.getString(2), offset);
                    }
                }
                if (batch >= 0) {
                    ack.setLong(1, batch);
                    ack.executeQuery().close();
                } else {
                    notifications.getNotifications(100);
                }
            }
        }
        return null;
    }
}
