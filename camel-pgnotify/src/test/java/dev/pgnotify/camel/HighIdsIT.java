package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import dev.pgnotify.camel.test.ChildJvm;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A queue whose ids are far from 0 (a long-lived table, or one whose sequence was set high, as here: 2^40). What lies
 * below a consumer's frontier and falls due later — a delayed message, the claims of a consumer that died — must still
 * be delivered when it falls due, however large its id: the sweep that watches below the frontier must reach it.
 */
class HighIdsIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(HighIdsIT.class);
    private static final long HIGH_ID = 1L << 40;
    private static final String DELAY_TABLE = "high_ids_delay_it_queue";
    private static final String CRASH_TABLE = "high_ids_crash_it_queue";
    private static final String CRASH_PROCESSED = "high_ids_crash_it_processed";
    private static final long POLL_MILLIS = 200;
    private static final long LEASE_MILLIS = 2000;

    private final Set<String> delivered = ConcurrentHashMap.newKeySet();
    private ProcessedLog processed;

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + DELAY_TABLE + ", " + DELAY_TABLE + "_dead, " + DELAY_TABLE
                         + "_dedup, " + CRASH_TABLE + ", " + CRASH_TABLE + "_dead, " + CRASH_TABLE + "_dedup CASCADE");
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:delayed?table=" + DELAY_TABLE + "&pollInterval=" + POLL_MILLIS).routeId("delayed")
                        .autoStartup(false)
                        .process(exchange -> delivered.add(exchange.getMessage().getBody(String.class)));
                from("pgnotify:high-crash?table=" + CRASH_TABLE + "&pollInterval=" + POLL_MILLIS + "&leaseTime="
                     + LEASE_MILLIS).routeId("recovering").autoStartup(false)
                        .process(exchange -> processed.process(exchange));
            }
        };
    }

    @AfterEach
    void closeLog() {
        if (processed != null) {
            processed.close();
        }
    }

    /**
     * Delayed messages sent amid a stream are passed by the frontier (they are not due yet); they must be delivered when
     * they fall due. Today the sweep walks ids from 0 in chunks of 50,000, at most 20 per sweep and starting again from
     * 0 every 60 sweeps, so it never gets past id 60 million: these are never delivered.
     */
    @Test
    void aDelayedMessageOnATableWithIdsPast2To40IsDeliveredWhenDue() throws Exception {
        // the consumer's start creates the table; its ids then continue past 2^40
        context.getRouteController().startRoute("delayed");
        server().execute("ALTER TABLE " + DELAY_TABLE + " ALTER COLUMN id RESTART WITH " + HIGH_ID);

        String send = "pgnotify:delayed?table=" + DELAY_TABLE;
        for (int i = 0; i < 50; i++) {
            template.sendBodyAndHeader(send, "delayed-" + i, PgNotifyConstants.DELAY, 2000);
            int block = i;
            template.sendBody(send + "&batch=true",
                    IntStream.range(0, 40).mapToObj(j -> "now-" + block + "-" + j).toList());
        }
        long lastDue = System.nanoTime() + 2_000_000_000L;
        assertTrue(((Number) server().queryValue("SELECT min(id) FROM " + DELAY_TABLE)).longValue() >= HIGH_ID);

        // due at the latest 2 s from now: a few poll intervals after that, every one must have been delivered
        try {
            await(Duration.ofSeconds(5)).alias("every delayed message delivered once due")
                    .until(() -> delivered("delayed-") == 50);
        } finally {
            LOG.info("{} of 50 delayed messages delivered {} ms after the last fell due; {} of 2,000 immediate ones",
                    delivered("delayed-"), (System.nanoTime() - lastDue) / 1_000_000, delivered("now-"));
        }
    }

    /**
     * A consumer in another JVM claims a batch and is killed; a consumer here must deliver everything it had claimed
     * once the leases run out (leaseTime + a few poll intervals). The killed consumer's claims lie below this consumer's
     * frontier, where only the sweep finds them: today it never reaches ids past 60 million.
     */
    @Test
    void whatAKilledConsumerHadClaimedOnATableWithIdsPast2To40IsDeliveredAfterItsLease() throws Exception {
        ProcessedLog.create(server(), CRASH_PROCESSED);
        processed = new ProcessedLog(server(), CRASH_PROCESSED, "test-jvm");
        String send = "pgnotify:high-crash?table=" + CRASH_TABLE;
        // a send creates the table; its ids then continue past 2^40
        template.sendBody(send, "creates the table");
        server().execute("DELETE FROM " + CRASH_TABLE,
                "ALTER TABLE " + CRASH_TABLE + " ALTER COLUMN id RESTART WITH " + HIGH_ID);
        template.sendBody(send + "&batch=true", IntStream.range(0, 100).mapToObj(i -> "c" + i).toList());

        // one thread claiming 50 at a time, 200 ms a message: killed in the middle of its first batch
        try (ChildJvm child = ChildJvm.start(server(), ChildJvm.logFile("high-ids-crash-child"), ConsumerProcess.class,
                "high-crash", "table=" + CRASH_TABLE, CRASH_PROCESSED, "1", "50", Long.toString(LEASE_MILLIS), "200")) {
            await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + CRASH_PROCESSED) >= 2);
            child.kill();
        }
        long killedAt = System.nanoTime();
        Set<Long> claimedByTheDead = ids("SELECT id FROM " + CRASH_TABLE + " WHERE attempts > 0");
        assertFalse(claimedByTheDead.isEmpty(), "the consumer was killed holding claims");
        assertTrue(claimedByTheDead.stream().allMatch(id -> id >= HIGH_ID));

        // traffic goes on meanwhile: the recovering consumer's claims move its frontier past the killed one's claims
        ScheduledExecutorService traffic = Executors.newSingleThreadScheduledExecutor();
        AtomicInteger sent = new AtomicInteger();
        context.getRouteController().startRoute("recovering");
        traffic.scheduleAtFixedRate(() -> template.sendBody(send, "t" + sent.incrementAndGet()), 0, 20,
                TimeUnit.MILLISECONDS);
        try {
            await(Duration.ofMillis(LEASE_MILLIS + 10 * POLL_MILLIS))
                    .alias("every message the killed consumer had claimed delivered again")
                    .until(() -> ids("SELECT message_id FROM " + CRASH_PROCESSED + " WHERE consumer = 'test-jvm'")
                            .containsAll(claimedByTheDead));
        } finally {
            Set<Long> redelivered = ids("SELECT message_id FROM " + CRASH_PROCESSED + " WHERE consumer = 'test-jvm'");
            redelivered.retainAll(claimedByTheDead);
            traffic.shutdownNow();
            traffic.awaitTermination(10, TimeUnit.SECONDS);
            LOG.info("{} of the {} messages the killed consumer had claimed were delivered again {} ms after the kill"
                     + " ({} sent meanwhile)", redelivered.size(), claimedByTheDead.size(),
                    (System.nanoTime() - killedAt) / 1_000_000, sent.get());
        }
    }

    private long delivered(String prefix) {
        return delivered.stream().filter(body -> body.startsWith(prefix)).count();
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }

    private static Set<Long> ids(String sql) throws Exception {
        Set<Long> ids = new HashSet<>();
        try (Connection connection = server().connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(sql)) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }
}
