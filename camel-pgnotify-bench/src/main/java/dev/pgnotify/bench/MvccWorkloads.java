package dev.pgnotify.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What users of Postgres queues report most after dead connections: one old transaction elsewhere (an analytics
 * query, a forgotten psql) keeps vacuum from removing acknowledged rows, and a queue whose claims walk them slows down
 * until it falls behind. These workloads run the queue free and with another session holding a REPEATABLE READ
 * snapshot, side by side in one run, window by window, with the table's dead tuples and sizes; and a soak that runs
 * for tens of minutes to show that sizes plateau and latency does not drift.
 */
final class MvccWorkloads {

    private static final Logger LOG = LoggerFactory.getLogger(MvccWorkloads.class);

    static final String GROUP = "MVCC";
    static final String STREAM_FREE = "pgnotify queue at 1,000 msg/s for %d s, free";
    static final String STREAM_HELD = "pgnotify queue at 1,000 msg/s for %d s, another session holding a snapshot";
    static final String DRAIN_FREE = "pgnotify queue, drain a %,d backlog, free";
    static final String DRAIN_HELD = "pgnotify queue, drain a %,d backlog, another session holding a snapshot";
    static final String SOAK = "soak: pgnotify queue at %d msg/s for %d min";
    static final String KEYED_STREAM_FREE = "pgnotify queue at 1,000 msg/s for %d s, keyed (100 keys), free";
    static final String KEYED_STREAM_HELD = "pgnotify queue at 1,000 msg/s for %d s, keyed (100 keys), another session"
                                            + " holding a snapshot";
    static final String STREAM_XID = "pgnotify queue at 1,000 msg/s for %d s, an idle session holding a transaction id";
    static final String KEYED_STREAM_XID = "pgnotify queue at 1,000 msg/s for %d s, keyed (100 keys), an idle session"
                                           + " holding a transaction id";
    static final String TOPIC_STREAM_FREE = "pgnotify topic (1 group) at 1,000 msg/s for %d s, free";
    static final String TOPIC_STREAM_HELD = "pgnotify topic (1 group) at 1,000 msg/s for %d s, another session holding"
                                            + " a snapshot";

    private static final String TABLE = "bench_mvcc";

    /**
     * What another session holds during a stream: nothing; a REPEATABLE READ snapshot (vacuum may remove no row
     * acknowledged since); or an idle transaction that took a transaction id and does nothing more (a forgotten psql
     * after {@code BEGIN; SELECT txid_current();}: it is in every snapshot's list of transactions in progress, and it
     * holds back vacuum too).
     */
    enum Hold {
        NOTHING,
        SNAPSHOT,
        TRANSACTION_ID
    }

    /** One window of a long stream: its latencies and what the table looked like at its end. */
    record Window(int index, int seconds, long delivered, double p50, double p99, long deadTuples, long tableBytes,
                  long indexBytes) {
    }

    /**
     * What a stream runs on: the consumer and producer URIs, how to start afresh, the tables it measures, and how many
     * keys its messages spread over (0: none).
     */
    private record Target(String consumerUri, String producerUri, Setup recreate, String figuresSql, int keys) {
    }

    @FunctionalInterface
    private interface Setup {
        void run() throws Exception;
    }

    private final Bench bench;
    private final Target queue;
    private final Target topic;
    private final Target keyedQueue;
    final List<Window> freeWindows = new ArrayList<>();
    final List<Window> topicFreeWindows = new ArrayList<>();
    final List<Window> topicHeldWindows = new ArrayList<>();
    final List<Window> heldWindows = new ArrayList<>();
    final List<Window> soakWindows = new ArrayList<>();
    final List<Window> keyedFreeWindows = new ArrayList<>();
    final List<Window> keyedHeldWindows = new ArrayList<>();
    final List<Window> xidWindows = new ArrayList<>();
    final List<Window> keyedXidWindows = new ArrayList<>();
    String streamXidName;
    String keyedXidName;
    String streamFreeName;
    String streamHeldName;
    String drainFreeName;
    String drainHeldName;
    String soakName;

    String topicFreeName;
    String topicHeldName;
    String keyedFreeName;
    String keyedHeldName;

    MvccWorkloads(Bench bench, TopicWorkloads topicWorkloads) {
        this.bench = bench;
        this.queue = new Target("pgnotify:bench_mvcc?table=" + TABLE, "pgnotify:bench_mvcc?table=" + TABLE,
                this::recreateTable, "SELECT coalesce(n_dead_tup, 0), pg_table_size('" + TABLE + "'), pg_indexes_size('"
                                     + TABLE + "') FROM pg_stat_user_tables WHERE relname = '" + TABLE + "'", 0);
        this.keyedQueue = new Target(queue.consumerUri(), queue.producerUri(), queue.recreate(), queue.figuresSql(), 100);
        String log = TopicWorkloads.TABLE;
        // the log's partitions and the group's items: what the stream writes
        this.topic = new Target(TopicWorkloads.uri("bench_mvcc") + "&group=reader", TopicWorkloads.uri("bench_mvcc"),
                topicWorkloads::reset,
                "SELECT coalesce(sum(n_dead_tup), 0), coalesce(sum(pg_table_size(relid)), 0),"
                                       + " coalesce(sum(pg_indexes_size(relid)), 0) FROM pg_stat_user_tables"
                                       + " WHERE relname IN ('" + log + "_0', '" + log + "_1', '" + log + "_2', '"
                                       + log + "_3', '" + log + "_items', '" + log + "_cuts')", 0);
    }

    void run() throws Exception {
        int seconds = bench.options.mvccSeconds();
        // bench.mvccSeconds=0: the drains only (a profiling run)
        if (seconds > 0) {
            streams(seconds);
        }
        int backlog = bench.options.count(200_000);
        drainFreeName = String.format(DRAIN_FREE, backlog);
        drainHeldName = String.format(DRAIN_HELD, backlog);
        for (int i = 0; i < bench.options.runs(); i++) {
            // alternately, so that the disk's drift falls on both alike
            bench.measure(GROUP, drainFreeName, "1 consumer thread, claims of 100", () -> drain(backlog, Hold.NOTHING));
            bench.measure(GROUP, drainHeldName,
                    "1 consumer thread, claims of 100; the snapshot is taken before the drain", () -> drain(backlog, Hold.SNAPSHOT));
        }
    }

    private void streams(int seconds) throws Exception {
        int window = Math.max(1, Math.min(30, seconds / 10));
        streamFreeName = String.format(STREAM_FREE, seconds);
        streamHeldName = String.format(STREAM_HELD, seconds);
        // one run each: they are long, and the windows within a run are what matters
        bench.measureOnce(GROUP, streamFreeName, "open model; the same stream as the next row, without the snapshot",
                () -> stream(queue, 1000, seconds, window, Hold.NOTHING, freeWindows));
        bench.measureOnce(GROUP, streamHeldName, "open model; the snapshot is taken before the first message and held"
                                                 + " to the last",
                () -> stream(queue, 1000, seconds, window, Hold.SNAPSHOT, heldWindows));
        topicFreeName = String.format(TOPIC_STREAM_FREE, seconds);
        topicHeldName = String.format(TOPIC_STREAM_HELD, seconds);
        bench.measureOnce(GROUP, topicFreeName, "open model; the same stream as the next row, without the snapshot",
                () -> stream(topic, 1000, seconds, window, Hold.NOTHING, topicFreeWindows));
        bench.measureOnce(GROUP, topicHeldName, "open model; the snapshot is taken before the first message and held"
                                                + " to the last",
                () -> stream(topic, 1000, seconds, window, Hold.SNAPSHOT, topicHeldWindows));
        // per-key order: a keyed claim probes the key index for earlier messages, dead entries included
        keyedFreeName = String.format(KEYED_STREAM_FREE, seconds);
        keyedHeldName = String.format(KEYED_STREAM_HELD, seconds);
        bench.measureOnce(GROUP, keyedFreeName, "open model; as the free stream above,"
                                                                           + " each message with one of 100 keys",
                () -> stream(keyedQueue, 1000, seconds, window, Hold.NOTHING, keyedFreeWindows));
        bench.measureOnce(GROUP, keyedHeldName, "open model; the snapshot is taken before"
                                                                           + " the first message and held to the last",
                () -> stream(keyedQueue, 1000, seconds, window, Hold.SNAPSHOT, keyedHeldWindows));
        // a transaction id held by an idle session: in every snapshot as in progress, it must not hold the claims'
        // frontier back (the claim engine excuses it after 500 ms and checks that it writes nothing into the table)
        streamXidName = String.format(STREAM_XID, seconds);
        keyedXidName = String.format(KEYED_STREAM_XID, seconds);
        bench.measureOnce(GROUP, streamXidName, "open model; the transaction id is taken before the first message and"
                                                + " held to the last",
                () -> stream(queue, 1000, seconds, window, Hold.TRANSACTION_ID, xidWindows));
        bench.measureOnce(GROUP, keyedXidName, "open model; as above, each message with one of 100 keys",
                () -> stream(keyedQueue, 1000, seconds, window, Hold.TRANSACTION_ID, keyedXidWindows));
    }

    void soak(int rate, int minutes) throws Exception {
        soakName = String.format(SOAK, rate, minutes);
        bench.measureOnce(GROUP, soakName, "open model; a window a minute, no snapshot held",
                () -> stream(queue, rate, minutes * 60, 60, Hold.NOTHING, soakWindows));
    }

    private void recreateTable() throws Exception {
        bench.sql("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        try (CamelContext camel = bench.camel()) {
            camel.start();
            camel.createProducerTemplate().sendBody("pgnotify:setup?table=" + TABLE, "setup");
        }
        bench.sql("TRUNCATE " + TABLE, "VACUUM ANALYZE " + TABLE);
    }

    /**
     * A stream at a fixed rate for that long, consumed by one route; latencies and table figures per window.
     */
    private Run stream(Target target, double rate, int seconds, int windowSeconds, Hold hold, List<Window> windows)
            throws Exception {
        target.recreate().run();
        windows.clear();
        int count = (int) (rate * seconds);
        int windowCount = (seconds + windowSeconds - 1) / windowSeconds;
        List<ConcurrentLinkedQueue<Long>> latencies = new ArrayList<>();
        for (int i = 0; i < windowCount; i++) {
            latencies.add(new ConcurrentLinkedQueue<>());
        }
        ConcurrentHashMap.KeySetView<Integer, Boolean> seen = ConcurrentHashMap.newKeySet();
        CountDownLatch complete = new CountDownLatch(1);
        AtomicLong duplicates = new AtomicLong();
        long[] start = new long[1];
        List<long[]> figures = new ArrayList<>();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        try (CamelContext camel = bench.camel(); Connection holder = bench.connect()) {
            if (hold != Hold.NOTHING) {
                holder.setAutoCommit(false);
                if (hold == Hold.SNAPSHOT) {
                    holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                }
                try (Statement statement = holder.createStatement()) {
                    statement.executeQuery(hold == Hold.SNAPSHOT ? "SELECT count(*) FROM pg_class"
                            : "SELECT txid_current()").close();
                }
            }
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(target.consumerUri()).process(exchange -> {
                        long now = System.nanoTime();
                        String body = exchange.getMessage().getBody(String.class);
                        if (body.startsWith("-1:")) {
                            return;
                        }
                        int first = body.indexOf(':');
                        int second = body.indexOf(':', first + 1);
                        int seq = Integer.parseInt(body, 0, first, 10);
                        long sent = Long.parseLong(body, first + 1, second, 10);
                        if (!seen.add(seq)) {
                            duplicates.incrementAndGet();
                            return;
                        }
                        int window = (int) Math.min(windowCount - 1, seq / (rate * windowSeconds));
                        latencies.get(window).add(now - sent);
                        if (seen.size() == count) {
                            complete.countDown();
                        }
                    });
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint(target.producerUri());
            Bench.sendAtRate(rate, (int) Math.min(rate, bench.options.count(1000)),
                    seq -> template.sendBody(endpoint, Receiver.warmUpBody(100)));
            start[0] = System.nanoTime();
            sampler.scheduleAtFixedRate(() -> figures.add(tableFigures(target)), windowSeconds, windowSeconds,
                    TimeUnit.SECONDS);

            long[] sent = Bench.sendAtRate(rate, count, seq -> {
                if (target.keys() > 0) {
                    template.sendBodyAndHeader(endpoint, Receiver.body(seq, 100), "CamelPgNotifyKey",
                            "key-" + seq % target.keys());
                } else {
                    template.sendBody(endpoint, Receiver.body(seq, 100));
                }
            });
            complete.await(Bench.DELIVERY_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            sampler.shutdownNow();
            long[] last = tableFigures(target);
            if (hold != Hold.NOTHING) {
                holder.rollback();
            }
            List<Long> all = new ArrayList<>();
            for (int i = 0; i < windowCount; i++) {
                long[] sorted = latencies.get(i).stream().mapToLong(Long::longValue).sorted().toArray();
                Arrays.stream(sorted).forEach(all::add);
                long[] f = i < figures.size() ? figures.get(i) : last;
                windows.add(new Window(i + 1, (i + 1) * windowSeconds, sorted.length, percentile(sorted, 50),
                        percentile(sorted, 99), f[0], f[1], f[2]));
                LOG.info("{} {} window {}: {} msgs p50 {} ms p99 {} ms, dead tuples {}, table {} kB, indexes {} kB",
                        target == topic ? "topic" : target.keys() > 0 ? "keyed queue" : "queue",
                        hold.name().toLowerCase(Locale.ROOT), i + 1, sorted.length,
                        String.format(Locale.ROOT, "%.2f", percentile(sorted, 50)),
                        String.format(Locale.ROOT, "%.2f", percentile(sorted, 99)), f[0], f[1] / 1024, f[2] / 1024);
            }
            long[] allNanos = all.stream().mapToLong(Long::longValue).toArray();
            Run.Latencies overall = Run.Latencies.of(allNanos, allNanos.length);
            double elapsed = (System.nanoTime() - sent[0]) / 1e9;
            return new Run(seen.size() / Math.max(1e-9, Math.min(elapsed, sent[1] / 1e9 + 1)), count, seen.size(),
                    duplicates.get(), overall,
                    String.format(Locale.ROOT, "at the end: %,d dead tuples, table %,d kB, indexes %,d kB", last[0],
                            last[1] / 1024, last[2] / 1024));
        } finally {
            sampler.shutdownNow();
        }
    }

    /** A backlog written with SQL, drained by one consumer thread, with or without a snapshot held meanwhile. */
    private Run drain(int backlog, Hold hold) throws Exception {
        recreateTable();
        bench.sql("INSERT INTO " + TABLE + " (channel, body_text) SELECT 'bench_mvcc_drain', g || ':0:' || repeat('x', 90)"
                  + " FROM generate_series(0, " + (backlog - 1) + ") AS g",
                "VACUUM ANALYZE " + TABLE);
        Receiver receiver = new Receiver(backlog);
        try (CamelContext camel = bench.camel(); Connection holder = bench.connect()) {
            if (hold != Hold.NOTHING) {
                holder.setAutoCommit(false);
                if (hold == Hold.SNAPSHOT) {
                    holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                }
                try (Statement statement = holder.createStatement()) {
                    statement.executeQuery(hold == Hold.SNAPSHOT ? "SELECT count(*) FROM pg_class"
                            : "SELECT txid_current()").close();
                }
            }
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:bench_mvcc_drain?table=" + TABLE)
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            long start = System.nanoTime();
            camel.start();
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run run = receiver.run(start, "");
            long[] figures = tableFigures(queue);
            if (hold != Hold.NOTHING) {
                holder.rollback();
            }
            return new Run(run.throughput(), run.expected(), run.delivered(), run.duplicates(), null,
                    String.format(Locale.ROOT, "at the end: %,d dead tuples, table %,d kB", figures[0],
                            figures[1] / 1024));
        }
    }

    /** Dead tuples (PostgreSQL's statistics), table size and index size in bytes. */
    private long[] tableFigures(Target target) {
        try (Connection connection = bench.connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(target.figuresSql())) {
            return rs.next() ? new long[] { rs.getLong(1), rs.getLong(2), rs.getLong(3) } : new long[3];
        } catch (Exception e) {
            LOG.warn("Could not read the table's figures: {}", e.toString());
            return new long[3];
        }
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
    }
}
