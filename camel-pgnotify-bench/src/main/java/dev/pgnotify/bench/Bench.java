package dev.pgnotify.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every workload shares: the server, the options, the measurements so far, and the load generators.
 */
final class Bench {

    private static final Logger LOG = LoggerFactory.getLogger(Bench.class);

    /** How long an end-to-end workload waits for its last messages before it counts the missing ones as lost. */
    static final long DELIVERY_TIMEOUT_MILLIS = 120_000;

    final BenchOptions options;
    final PgTestServer server;
    final List<Measurement> measurements = new ArrayList<>();

    Bench(BenchOptions options, PgTestServer server) {
        this.options = options;
        this.server = server;
    }

    /**
     * Runs a workload once and adds the run to its measurement. The benchmark runs every workload once per round, for
     * options.runs rounds, so that a baseline and its contender alternate and the disk's drift over the run (its flush
     * time varies several-fold within minutes) falls on both alike.
     */
    Measurement measure(String group, String name, String description, Callable<Run> run) throws Exception {
        Measurement measurement = find(name);
        if (measurement == null) {
            measurement = new Measurement(group, name, description);
            if (!options.selects(name)) {
                return measurement;
            }
            measurements.add(measurement);
        }
        Run result = run.call();
        measurement.runs.add(result);
        LOG.info("{} / {} run {}: {} msg/s{}{}", group, name, measurement.runs.size(), Math.round(result.throughput()),
                result.latencies() != null ? String.format(" p50 %.2f ms p99 %.2f ms", result.latencies().p50(),
                        result.latencies().p99()) : "",
                result.lost() > 0 || result.duplicates() > 0
                        ? " lost " + result.lost() + " duplicates " + result.duplicates() : "");
        return measurement;
    }

    /** Runs a long workload once, whatever bench.runs says: its windows are what matters. */
    Measurement measureOnce(String group, String name, String description, Callable<Run> run) throws Exception {
        Measurement measurement = new Measurement(group, name, description);
        if (!options.selects(name)) {
            return measurement;
        }
        Run result = run.call();
        measurement.runs.add(result);
        LOG.info("{} / {}: {} msg/s{}{}", group, name, Math.round(result.throughput()),
                result.latencies() != null ? String.format(" p50 %.2f ms p99 %.2f ms", result.latencies().p50(),
                        result.latencies().p99()) : "",
                result.lost() > 0 || result.duplicates() > 0
                        ? " lost " + result.lost() + " duplicates " + result.duplicates() : "");
        measurements.add(measurement);
        return measurement;
    }

    Measurement find(String name) {
        return measurements.stream().filter(m -> m.name.equals(name)).findFirst().orElse(null);
    }

    Connection connect() throws SQLException {
        return server.connect();
    }

    void sql(String... statements) throws SQLException {
        server.execute(statements);
    }

    long count(String sql) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * The server's WAL flushes so far (every process's, the WAL writer's included), or -1 where the server does not
     * count them (before 14). PostgreSQL 14 to 17 count them in pg_stat_wal.wal_sync; 18 moved them to pg_stat_io, as
     * the fsyncs of the rows whose object is 'wal' (one a backend type). What one durable commit costs: a message whose
     * send, claim and acknowledgement each waited for the disk would cost about three.
     */
    long walFlushes() {
        try {
            return count(serverVersionNum() >= 180000
                    ? "SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal'"
                    : "SELECT wal_sync FROM pg_stat_wal");
        } catch (SQLException e) {
            return -1;
        }
    }

    private int serverVersionNum() throws SQLException {
        return Integer.parseInt(value("SHOW server_version_num"));
    }

    /** "N WAL flushes a message" between two readings of {@link #walFlushes()}, or "" where not counted. */
    static String walFlushesPerMessage(long before, long after, long messages) {
        return before < 0 || after < 0 || messages == 0 ? ""
                : String.format(Locale.ROOT, "%.2f WAL flushes a message", (after - before) / (double) messages);
    }

    String value(String sql) throws SQLException {
        return String.valueOf(server.queryValue(sql));
    }

    /** A Camel context whose pgnotify component points at the server. */
    CamelContext camel() {
        return camel(server.jdbcUrl(), server.username(), server.password());
    }

    /** A Camel context whose pgnotify component uses this database. */
    static CamelContext camel(String jdbcUrl, String username, String password) {
        CamelContext context = new DefaultCamelContext();
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(jdbcUrl);
        component.getConfiguration().setUsername(username);
        component.getConfiguration().setPassword(password);
        return context;
    }

    /** Lets that much time pass: what a measurement of an idle period measures. */
    static void pause(long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
        long left;
        while ((left = end - System.nanoTime()) > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(left);
        }
    }

    /** The median of these values (NaN for none). */
    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /** The CPU time this JVM has used, all threads together (0 where the JVM does not say). */
    static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : 0;
    }

    /**
     * The CPU time of this JVM's live threads to the nanosecond, where Linux says it (/proc/self/task/N/schedstat);
     * {@link #processCpuNanos()}, whose clock ticks in 10 ms steps there, elsewhere. For windows in which no thread
     * ends (an idle period): an ended thread's time leaves the sum.
     */
    static long preciseProcessCpuNanos() {
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) {
            return processCpuNanos();
        }
        long sum = 0;
        try (var threads = Files.list(tasks)) {
            for (Path thread : (Iterable<Path>) threads::iterator) {
                try {
                    String schedstat = Files.readString(thread.resolve("schedstat"));
                    sum += Long.parseLong(schedstat.substring(0, schedstat.indexOf(' ')));
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return processCpuNanos();
        }
        return sum;
    }

    /** What a load generator does for each message. */
    @FunctionalInterface
    interface Send {
        void send(int seq) throws Exception;
    }

    /**
     * Sends messages 0..count-1 as fast as {@code threads} threads can, each taking the next number; returns the
     * System.nanoTime() of the first send and the send duration.
     */
    static long[] sendAsFastAsPossible(int threads, int count, Send send) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ExecutorService senders = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                running.add(senders.submit((Callable<Void>) () -> {
                    for (int seq = next.getAndIncrement(); seq < count; seq = next.getAndIncrement()) {
                        send.send(seq);
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get(DELIVERY_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            }
        } finally {
            senders.shutdownNow();
        }
        return new long[] { start, System.nanoTime() - start };
    }

    /**
     * Sends {@code count} messages at a fixed rate from one thread (an open model: each message at its own time,
     * whatever happened to the previous one); returns the System.nanoTime() of the first send and the send duration.
     */
    static long[] sendAtRate(double perSecond, int count, Send send) throws Exception {
        long interval = (long) (1e9 / perSecond);
        long start = System.nanoTime();
        for (int seq = 0; seq < count; seq++) {
            long due = start + seq * interval;
            long wait;
            while ((wait = due - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            send.send(seq);
        }
        return new long[] { start, System.nanoTime() - start };
    }
}
