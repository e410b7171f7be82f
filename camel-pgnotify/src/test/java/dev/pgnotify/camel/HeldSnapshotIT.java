package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One old transaction must not send the queue (or a topic group) into a death spiral: while another session holds a
 * REPEATABLE READ snapshot (an analytics query, a forgotten psql), vacuum may not remove acknowledged rows (a topic
 * group's acknowledged items), and a claim that scanned the channel from its start would walk all of them. The claims
 * start at the consumer's frontier instead, and a topic's log is read by transaction id ranges: the index entries read
 * per message stay flat while the dead rows pile up. Asserted on PostgreSQL's own counters (rows and index entries read
 * per message, window by window), not on timings.
 */
class HeldSnapshotIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(HeldSnapshotIT.class);
    private static final String TABLE = "held_it_queue";
    private static final String TOPIC = "held_it_topic";
    private static final String QUEUE_URI = "pgnotify:held?table=" + TABLE;
    private static final String TOPIC_URI = "pgnotify:heldt?mode=topic&topicTable=" + TOPIC;
    private static final int RATE = 500;
    private static final int WINDOW_SECONDS = 5;
    private static final int WINDOWS = 4;

    private final Set<String> received = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<Long> latenciesNanos = new ConcurrentLinkedQueue<>();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        TopicDeliveryIT.dropTopic(TOPIC);
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(QUEUE_URI).routeId("queue").autoStartup(false).process(e -> record(e.getMessage().getBody(
                        String.class)));
                from(TOPIC_URI + "&group=reader").routeId("topic").autoStartup(false)
                        .process(e -> record(e.getMessage().getBody(String.class)));
            }
        };
    }

    private void record(String body) {
        long sentAt = Long.parseLong(body.substring(body.indexOf(':') + 1));
        latenciesNanos.add(System.nanoTime() - sentAt);
        received.add(body);
    }

    @Test
    void claimCostStaysFlatWhileAnotherSessionHoldsASnapshot() throws Exception {
        context.getRouteController().startRoute("queue");
        readCostStaysFlat(QUEUE_URI, "'" + TABLE + "'", TABLE,
                "SELECT id FROM " + TABLE + " WHERE channel = 'held' ORDER BY id LIMIT 1");
    }

    @Test
    void aTopicGroupsReadCostStaysFlatWhileAnotherSessionHoldsASnapshot() throws Exception {
        context.getRouteController().startRoute("topic");
        readCostStaysFlat(TOPIC_URI, "'" + TOPIC + "_items', '" + TOPIC + "_0', '" + TOPIC + "_1', '" + TOPIC
                                     + "_2', '" + TOPIC + "_3', '" + TOPIC + "_cuts'",
                TOPIC + "_items, " + TOPIC + "_cuts, " + TOPIC,
                "SELECT id FROM " + TOPIC + "_items WHERE channel = 'heldt' AND group_name = 'reader' ORDER BY id"
                                                         + " LIMIT 1");
    }

    /**
     * Streams messages in windows while a snapshot is held; the rows and index entries read per message in the given
     * tables must stay flat.
     */
    private void readCostStaysFlat(String uri, String relations, String vacuumed, String scanFromTheStart)
            throws Exception {
        template.sendBody(uri, "warm-up:" + System.nanoTime());
        await(Duration.ofSeconds(10)).until(() -> received.size() == 1);

        try (Connection holder = server().connect()) {
            holder.setAutoCommit(false);
            holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement statement = holder.createStatement()) {
                // the snapshot is taken by the first query and held until the transaction ends
                statement.executeQuery("SELECT count(*) FROM pg_class").close();
            }
            List<double[]> windows = new ArrayList<>();
            int sent = 1;
            long[] before = indexCounters(relations, null);
            for (int window = 0; window < WINDOWS; window++) {
                latenciesNanos.clear();
                int deliveredBefore = received.size();
                sent += sendAtRate(uri, sent, RATE * WINDOW_SECONDS);
                int target = sent;
                await(Duration.ofSeconds(30)).until(() -> received.size() >= target);
                // as autovacuum does: the statistics now say the table is nearly empty while its indexes are full of
                // entries vacuum could not remove, the state in which a planner may pick a plan that walks them all
                server().execute("VACUUM ANALYZE " + vacuumed);
                long[] after = indexCounters(relations, before);
                int delivered = received.size() - deliveredBefore;
                double tuplesPerMessage = (double) (after[0] - before[0]) / delivered;
                double p50 = percentile(0.50);
                double p99 = percentile(0.99);
                windows.add(new double[] { tuplesPerMessage, p50, p99, after[1] });
                LOG.info("Window {}: {} messages, rows and index entries read per message {}, latency p50 {} ms p99 {}"
                         + " ms, dead tuples {}, the consumer's frontier at {}",
                        window + 1, delivered, String.format("%.1f", tuplesPerMessage), String.format("%.2f", p50),
                        String.format("%.2f", p99), after[1], frontier());
                before = after;
            }
            long control = buffersTouched(scanFromTheStart);
            LOG.info("A scan of the channel from its start now touches {} buffers (what a claim without frontier"
                     + " would)", control);

            double first = windows.get(0)[0];
            double last = windows.get(WINDOWS - 1)[0];
            assertTrue(control > 100, "the held snapshot kept dead rows: " + control + " buffers");
            // counters that read nothing (a relation renamed, statistics not flushed) would pass the next check
            assertTrue(first > 0, "the statistics see the claims' reads: " + first + " a message in the first window");
            assertTrue(last <= 2 * first + 2,
                    "rows and index entries read per message stay flat: first window " + first + ", last " + last);
            holder.rollback();
        }
        await(Duration.ofSeconds(10)).until(() -> received.size() == 1 + RATE * WINDOW_SECONDS * WINDOWS);
        assertEquals(1 + RATE * WINDOW_SECONDS * WINDOWS, received.size(), "every message delivered");
    }

    /** The frontier of the running consumer, for the log. */
    private long frontier() {
        return context.getRoutes().stream().filter(route -> context.getRouteController().getRouteStatus(route.getId())
                                                            .isStarted())
                .map(route -> route.getConsumer()).filter(c -> c instanceof dev.pgnotify.camel.claim.ClaimingConsumer)
                .mapToLong(c -> ((dev.pgnotify.camel.claim.ClaimingConsumer) c).getFrontier()).findFirst()
                .orElse(-1);
    }

    private int sendAtRate(String uri, int firstSeq, int count) {
        long interval = TimeUnit.SECONDS.toNanos(1) / RATE;
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long due = start + i * interval;
            long wait;
            while ((wait = due - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            template.sendBody(uri, "m" + (firstSeq + i) + ":" + System.nanoTime());
        }
        return count;
    }

    /**
     * Index tuples read from the claim index so far, and the table's dead tuples, from PostgreSQL's statistics, once
     * they have settled: backends publish their counters about once a second, so this waits until two readings a
     * second apart agree.
     */
    private static long[] indexCounters(String relations, long[] windowStart) {
        long[][] last = { readCounters(relations) };
        try {
            return await(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(1100)).until(() -> {
                long[] now = readCounters(relations);
                // idle claims keep reading a little: settled once a second adds under 2% of the window's reads
                long windowReads = now[0] - (windowStart == null ? 0 : windowStart[0]);
                boolean settled = now[0] - last[0][0] <= Math.max(50, windowReads / 50);
                last[0] = now;
                return settled ? now : null;
            }, java.util.Objects::nonNull);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // idle claims that keep reading many rows are what the assertion is about: let it say so
            LOG.warn("The counters kept growing while the consumer was idle");
            return readCounters(relations);
        }
    }

    private static long[] readCounters(String relations) {
        try (Connection connection = server().connect(); Statement statement = connection.createStatement();
             // every index entry and every heap row the tables' scans read, whichever index or scan a plan chose
             ResultSet rs = statement.executeQuery("SELECT sum(coalesce(t.seq_tup_read, 0) + coalesce((SELECT"
                                                   + " sum(i.idx_tup_read) FROM pg_stat_user_indexes i"
                                                   + " WHERE i.relid = t.relid), 0))::bigint,"
                                                   + " sum(t.n_dead_tup)::bigint FROM pg_stat_user_tables t"
                                                   + " WHERE t.relname IN (" + relations + ")")) {
            rs.next();
            return new long[] { rs.getLong(1), rs.getLong(2) };
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Buffers a plain scan of the channel from its first id touches: what every claim would walk without a frontier. */
    private static long buffersTouched(String scanFromTheStart) throws Exception {
        try (Connection connection = server().connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + scanFromTheStart)) {
            rs.next();
            String plan = rs.getString(1);
            java.util.regex.Matcher hits = java.util.regex.Pattern.compile("\"Shared Hit Blocks\": (\\d+)")
                    .matcher(plan);
            java.util.regex.Matcher reads = java.util.regex.Pattern.compile("\"Shared Read Blocks\": (\\d+)")
                    .matcher(plan);
            return (hits.find() ? Long.parseLong(hits.group(1)) : 0) + (reads.find() ? Long.parseLong(reads.group(1)) : 0);
        }
    }

    private double percentile(double p) {
        List<Long> sorted = new ArrayList<>(latenciesNanos);
        sorted.sort(null);
        if (sorted.isEmpty()) {
            return 0;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) (p * sorted.size()))) / 1e6;
    }
}
