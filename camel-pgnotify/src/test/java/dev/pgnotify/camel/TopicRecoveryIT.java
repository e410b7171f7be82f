package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

import dev.pgnotify.camel.test.ChildJvm;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The queue's guarantees, per group: a poison message is retried and dead-lettered in the group that fails it while
 * the other group is unaffected and the failing group's other messages flow; a consumer JVM killed in the middle of a
 * batch has its batch delivered again within the group, from where it was; two JVMs in one group process each
 * message once.
 */
class TopicRecoveryIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TopicRecoveryIT.class);
    private static final String TOPIC = "tr_topic";
    private static final String PROCESSED = "tr_processed";
    private static final long LEASE_MILLIS = 2000;

    private ProcessedLog processed;
    private volatile boolean poisonFixed;

    @BeforeEach
    void clean() throws Exception {
        TopicDeliveryIT.dropTopic(TOPIC);
        ProcessedLog.create(server(), PROCESSED);
        processed = new ProcessedLog(server(), PROCESSED, "test-jvm");
    }

    @AfterEach
    void closeLog() {
        if (processed != null) {
            processed.close();
        }
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                String poison = "pgnotify:poison?mode=topic&topicTable=" + TOPIC
                                + "&maxAttempts=3&retryDelay=100&pollInterval=200";
                from(poison + "&group=strict").routeId("strict").autoStartup(false).process(e -> {
                    if (e.getMessage().getBody(String.class).startsWith("poison") && !poisonFixed) {
                        throw new IllegalArgumentException("cannot bill " + e.getMessage().getBody(String.class));
                    }
                    processed.process(e);
                });
                from(poison + "&group=lenient").routeId("lenient").autoStartup(false)
                        .process(e -> processed.process(e));
                from("pgnotify:crash?mode=topic&topicTable=" + TOPIC + "&group=workers&leaseTime=" + LEASE_MILLIS
                     + "&pollInterval=200")
                        .routeId("crash").autoStartup(false).process(e -> processed.process(e));
                from("pgnotify:compete?mode=topic&topicTable=" + TOPIC + "&group=workers&concurrentConsumers=2")
                        .routeId("compete").autoStartup(false).process(e -> processed.process(e));
            }
        };
    }

    @Test
    void aPoisonMessageIsDeadLetteredInTheGroupThatFailsItOnly() throws Exception {
        context.getRouteController().startRoute("strict");
        context.getRouteController().startRoute("lenient");
        String publish = "pgnotify:poison?mode=topic&topicTable=" + TOPIC;
        List<String> bodies = IntStream.range(0, 300).mapToObj(i -> i == 100 ? "poison-pill" : "ok-" + i).toList();
        template.sendBody(publish + "&batch=true", bodies);

        await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + TOPIC + "_dead") == 1);
        await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + PROCESSED) == 599);
        assertEquals(300L, count("SELECT count(DISTINCT message_id) FROM " + PROCESSED + " WHERE grp = 'lenient'"),
                "the other group received every message, the poison included");
        assertEquals(299L, count("SELECT count(DISTINCT message_id) FROM " + PROCESSED + " WHERE grp = 'strict'"),
                "the failing group processed every other message");
        assertEquals("strict", server().queryValue("SELECT group_name FROM " + TOPIC + "_dead"));
        assertEquals("poison-pill", server().queryValue("SELECT body_text FROM " + TOPIC + "_dead"));
        assertEquals(3L, count("SELECT attempts FROM " + TOPIC + "_dead"));
        String error = (String) server().queryValue("SELECT last_error FROM " + TOPIC + "_dead");
        assertTrue(error.contains("cannot bill poison-pill"), error);
        assertEquals(0L, count("SELECT count(*) - count(DISTINCT (grp, message_id)) FROM " + PROCESSED),
                "nothing delivered twice to a group");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TOPIC + "_items") == 0);

        // the route is fixed: the guide's SQL (docs/modes.md) delivers the dead letter again, to its group only
        poisonFixed = true;
        server().execute("WITH d AS (DELETE FROM " + TOPIC + "_dead WHERE channel = 'poison' AND group_name = 'strict'"
                         + " RETURNING channel, group_name, id) INSERT INTO " + TOPIC
                         + "_items (channel, group_name, ids) SELECT channel, group_name, ARRAY[id] FROM d");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'strict'") == 300);
        assertEquals(300L, count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'lenient'"));
    }

    @Test
    void whatAKilledConsumerHadClaimedIsDeliveredAgainWithinTheGroup() throws Exception {
        // the group exists before anything is published
        context.getRouteController().startRoute("crash");
        context.getRouteController().stopRoute("crash");
        List<String> bodies = IntStream.range(0, 2000).mapToObj(i -> "c" + i).toList();
        for (int from = 0; from < bodies.size(); from += 500) {
            template.sendBody("pgnotify:crash?mode=topic&topicTable=" + TOPIC + "&batch=true",
                    bodies.subList(from, from + 500));
        }
        // batches of 50 at 5 ms a message: a kill lands in the middle of a batch
        try (ChildJvm child = ChildJvm.start(server(), ChildJvm.logFile("topic-crash-child"), ConsumerProcess.class,
                "crash", "mode=topic&group=workers&topicTable=" + TOPIC, PROCESSED, "2", "50",
                Long.toString(LEASE_MILLIS), "5")) {
            await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED) >= 300);
            child.kill();
        }
        long claimedByTheDead = count("SELECT count(*) FROM " + TOPIC + "_items WHERE attempts > 0");
        long processedByTheDead = count("SELECT count(*) FROM " + PROCESSED);
        LOG.info("Killed the consumer after it had processed {} messages; it held {} claimed batches",
                processedByTheDead, claimedByTheDead);
        assertTrue(claimedByTheDead > 0, "the consumer was killed holding claims");

        long restart = System.nanoTime();
        context.getRouteController().startRoute("crash");
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(DISTINCT message_id) FROM " + PROCESSED)
                                                  == 2000);
        long recoveredMillis = (System.nanoTime() - restart) / 1_000_000;
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TOPIC + "_items") == 0);
        long twice = count("SELECT count(*) - count(DISTINCT message_id) FROM " + PROCESSED);
        LOG.info("All 2,000 processed within the group, {} of them twice; done {} ms after the second consumer"
                 + " started (lease {} ms)",
                twice, recoveredMillis, LEASE_MILLIS);
        // renewals record a batch's progress: at most what the dead consumer did since its last renewal is repeated
        assertTrue(twice <= 2 * 50, "only the batches in the dead consumer's hands can be repeated: " + twice);
        assertEquals(0L, count("SELECT count(*) FROM " + TOPIC + "_dead"));
    }

    @Test
    void fourConsumersInTwoJvmsShareTheGroupsMessages() throws Exception {
        context.getRouteController().startRoute("compete");
        try (ChildJvm child = ChildJvm.start(server(), ChildJvm.logFile("topic-compete-child"), ConsumerProcess.class,
                "compete", "mode=topic&group=workers&topicTable=" + TOPIC, PROCESSED, "2", "100", "30000", "0")) {
            List<String> bodies = IntStream.range(0, 20_000).mapToObj(i -> "m" + i).toList();
            for (int from = 0; from < bodies.size(); from += 1000) {
                template.sendBody("pgnotify:compete?mode=topic&topicTable=" + TOPIC + "&batch=true",
                        bodies.subList(from, from + 1000));
            }
            await(Duration.ofSeconds(120)).until(() -> count("SELECT count(*) FROM " + PROCESSED) >= 20_000);
            await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TOPIC + "_items") == 0);

            long total = count("SELECT count(*) FROM " + PROCESSED);
            long distinct = count("SELECT count(DISTINCT message_id) FROM " + PROCESSED);
            long byChild = count("SELECT count(*) FROM " + PROCESSED + " WHERE consumer = '" + child.name() + "'");
            LOG.info("20,000 messages in one group: {} processed by the other JVM, {} by this one, {} twice", byChild,
                    total - byChild, total - distinct);
            assertEquals(20_000L, distinct, "every message processed");
            assertEquals(20_000L, total, "none processed twice");
            assertTrue(byChild > 0 && byChild < 20_000, "both JVMs took part: " + byChild);
        }
    }

    private static long count(String sql) throws Exception {
        Object value = server().queryValue(sql);
        return value == null ? 0 : ((Number) value).longValue();
    }
}
