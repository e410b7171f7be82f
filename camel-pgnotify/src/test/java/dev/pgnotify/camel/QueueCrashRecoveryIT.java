package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import dev.pgnotify.camel.test.ChildJvm;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Consumers in other JVMs: one killed with SIGKILL in the middle of a batch (what it had claimed is delivered again,
 * nothing is lost), and two JVMs with two threads each sharing one backlog (each message processed exactly once).
 */
class QueueCrashRecoveryIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueCrashRecoveryIT.class);
    private static final long LEASE_MILLIS = 2000;

    private ProcessedLog processed;

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:crash?table=crash_it_queue&leaseTime=" + LEASE_MILLIS + "&pollInterval=200")
                        .routeId("crash").autoStartup(false).process(exchange -> processed.process(exchange));
                from("pgnotify:compete?table=compete_it_queue&concurrentConsumers=2")
                        .routeId("compete").autoStartup(false).process(exchange -> processed.process(exchange));
            }
        };
    }

    @AfterEach
    void closeLog() {
        if (processed != null) {
            processed.close();
        }
    }

    @Test
    void whatAKilledConsumerHadClaimedIsDeliveredByAnother() throws Exception {
        ProcessedLog.create(server(), "crash_it_processed");
        processed = new ProcessedLog(server(), "crash_it_processed", "test-jvm");
        server().execute("DROP TABLE IF EXISTS crash_it_queue, crash_it_queue_dead CASCADE");
        List<String> bodies = IntStream.range(0, 2000).mapToObj(i -> "c" + i).toList();
        for (int from = 0; from < bodies.size(); from += 500) {
            template.sendBody("pgnotify:crash?table=crash_it_queue&batch=true", bodies.subList(from, from + 500));
        }

        // batches of 50 at 5 ms a message: a kill lands in the middle of a batch
        try (ChildJvm child = ChildJvm.start(server(), ChildJvm.logFile("crash-child"), ConsumerProcess.class,
                "crash", "table=crash_it_queue", "crash_it_processed", "2", "50", Long.toString(LEASE_MILLIS), "5")) {
            await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM crash_it_processed") >= 300);
            child.kill();
        }
        Set<Long> claimedByTheDead = ids("SELECT id FROM crash_it_queue WHERE attempts > 0");
        Set<Long> processedByTheDead = ids("SELECT message_id FROM crash_it_processed");
        LOG.info("Killed the consumer after it had processed {} messages; it held {} claimed ones",
                processedByTheDead.size(), claimedByTheDead.size());
        assertFalse(claimedByTheDead.isEmpty(), "the consumer was killed holding claims");

        long restart = System.nanoTime();
        context.getRouteController().startRoute("crash");
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM crash_it_queue") == 0);
        long recoveredMillis = (System.nanoTime() - restart) / 1_000_000;

        Set<Long> redelivered = ids("SELECT message_id FROM crash_it_processed WHERE consumer = 'test-jvm'");
        assertTrue(redelivered.containsAll(claimedByTheDead), "every claimed message was delivered again");
        assertEquals(2000L, count("SELECT count(DISTINCT message_id) FROM crash_it_processed"), "none lost");
        long twice = count("SELECT count(*) - count(DISTINCT message_id) FROM crash_it_processed");
        LOG.info("All 2,000 processed, {} of them twice (processed by the killed consumer, not yet acknowledged);"
                 + " the queue was empty {} ms after the second consumer started",
                twice, recoveredMillis);
        assertTrue(twice <= claimedByTheDead.size(), "only claimed messages can be processed twice");
        assertEquals(0L, count("SELECT count(*) FROM crash_it_queue_dead"));
    }

    @Test
    void fourConsumersInTwoJvmsProcessEachMessageOnce() throws Exception {
        ProcessedLog.create(server(), "compete_it_processed");
        processed = new ProcessedLog(server(), "compete_it_processed", "test-jvm");
        server().execute("DROP TABLE IF EXISTS compete_it_queue, compete_it_queue_dead CASCADE");
        List<String> bodies = IntStream.range(0, 20_000).mapToObj(i -> "m" + i).toList();
        for (int from = 0; from < bodies.size(); from += 1000) {
            template.sendBody("pgnotify:compete?table=compete_it_queue&batch=true", bodies.subList(from, from + 1000));
        }

        try (ChildJvm child = ChildJvm.start(server(), ChildJvm.logFile("compete-child"), ConsumerProcess.class,
                "compete", "table=compete_it_queue", "compete_it_processed", "2", "100", "30000", "0")) {
            context.getRouteController().startRoute("compete");
            await(Duration.ofSeconds(120)).until(() -> count("SELECT count(*) FROM compete_it_queue") == 0);
            await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM compete_it_processed") >= 20_000);

            long total = count("SELECT count(*) FROM compete_it_processed");
            long distinct = count("SELECT count(DISTINCT message_id) FROM compete_it_processed");
            long byChild = count("SELECT count(*) FROM compete_it_processed WHERE consumer = '" + child.name() + "'");
            LOG.info("20,000 messages: {} processed by the other JVM, {} by this one, {} twice", byChild,
                    total - byChild, total - distinct);
            assertEquals(20_000L, distinct, "every message processed");
            assertEquals(20_000L, total, "none processed twice");
            assertTrue(byChild > 0 && byChild < 20_000, "both JVMs took part: " + byChild);
        }
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
