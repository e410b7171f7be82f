package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import dev.pgnotify.camel.test.CapturedLogs;
import dev.pgnotify.camel.test.HealthRecorder;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retention without bloat: the log is kept while a group still needs it and emptied partition by partition (TRUNCATE,
 * no dead rows) once every group has passed; a group away longer than maxRetention loses what was removed, with a
 * warning naming it; each group's lag is one query away and in the consumer's health details.
 */
class TopicRetentionIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TopicRetentionIT.class);
    private static final String TOPIC = "tret_topic";
    private static final String PROCESSED = "tret_processed";
    private static final String OPTIONS = "mode=topic&topicTable=" + TOPIC + "&rotateInterval=300";
    private static final String PUBLISH = "pgnotify:events?" + OPTIONS;

    private ProcessedLog processed;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void clean() throws Exception {
        TopicDeliveryIT.dropTopic(TOPIC);
        ProcessedLog.create(server(), PROCESSED);
        processed = new ProcessedLog(server(), PROCESSED, "test-jvm");
    }

    @AfterEach
    void closeLog() {
        release.countDown();
        if (processed != null) {
            processed.close();
        }
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:events?" + OPTIONS + "&group=fast").routeId("fast").autoStartup(false)
                        .process(e -> processed.process(e));
                from("pgnotify:events?" + OPTIONS + "&group=slow").routeId("slow").autoStartup(false)
                        .process(e -> processed.process(e));
                from("pgnotify:events?" + OPTIONS + "&group=away&maxRetention=1000").routeId("away")
                        .autoStartup(false).process(e -> processed.process(e));
                from("pgnotify:events?" + OPTIONS + "&group=present&maxRetention=1000").routeId("present")
                        .autoStartup(false).process(e -> processed.process(e));
            }
        };
    }

    @Test
    void theLogIsKeptWhileAGroupNeedsItAndEmptiedWholeOnceEveryGroupHasPassed() throws Exception {
        context.getRouteController().startRoute("fast");
        context.getRouteController().startRoute("slow");
        context.getRouteController().stopRoute("slow");
        List<String> bodies = IntStream.range(0, 5000).mapToObj(i -> "r" + i).toList();
        for (int round = 0; round < 5; round++) {
            template.sendBody(PUBLISH + "&batch=true", bodies.subList(round * 1000, round * 1000 + 1000));
        }
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'fast'")
                                                  == 5000);
        // the current partition moves on every 300 ms (once the next is empty); "slow" still needs every message
        long rotatedUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        await(Duration.ofSeconds(10)).until(() -> System.nanoTime() > rotatedUntil);
        assertEquals(5000L, count("SELECT count(*) FROM " + TOPIC), "kept while a group still needs it");
        assertEquals(5000L, lag("slow"), "the lag view counts what the stopped group has not processed");

        context.getRouteController().startRoute("slow");
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'slow'")
                                                  == 5000);
        long caughtUp = System.nanoTime();
        await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + TOPIC) == 0);
        LOG.info("Every group done: the log was empty {} ms later (rotateInterval 300 ms)",
                (System.nanoTime() - caughtUp) / 1_000_000);

        long deadTuples = count("SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname LIKE '"
                                + TOPIC + "\\__'");
        long pages = count("SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relname LIKE '"
                           + TOPIC + "\\__' AND c.relkind = 'r'");
        LOG.info("After 5,000 messages and two groups: the log's partitions hold {} bytes and {} dead tuples", pages,
                deadTuples);
        assertEquals(0L, deadTuples, "emptied by TRUNCATE: no dead rows for vacuum");
        assertEquals(0L, pages, "the storage is given back");
        assertEquals(0L, lag("fast"));
        assertEquals(0L, lag("slow"));
    }

    @Test
    void aGroupAwayLongerThanMaxRetentionLosesWhatWasRemovedAndIsNamed() throws Exception {
        context.getRouteController().startRoute("away");
        context.getRouteController().stopRoute("away");
        context.getRouteController().startRoute("present");
        try (CapturedLogs logs = new CapturedLogs()) {
            for (int i = 0; i < 100; i++) {
                template.sendBody(PUBLISH, "old-" + i);
            }
            await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                            + " WHERE grp = 'present'") == 100);
            // older than maxRetention (1 s) and rotated out: removed although "away" never read it
            await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + TOPIC) == 0);
            await(Duration.ofSeconds(10)).until(() -> logs.anyContains("these groups had not processed: events/away"));
        }
        context.getRouteController().startRoute("away");
        template.sendBody(PUBLISH, "new");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'away'") == 1);
        assertEquals("new", server().queryValue("SELECT body FROM " + PROCESSED + " WHERE grp = 'away'"));
    }

    @Test
    void theLagOfAGroupIsInItsHealthDetails() throws Exception {
        // a context of its own, as an application has: Camel's health checks see its consumers
        try (CamelContext camel = new DefaultCamelContext()) {
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setJdbcUrl(server().jdbcUrl());
            component.getConfiguration().setUsername(server().username());
            component.getConfiguration().setPassword(server().password());
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:events?" + OPTIONS + "&group=stuck&maxMessagesPerPoll=10").routeId("stuck")
                            .process(e -> {
                                if (!release.await(60, TimeUnit.SECONDS)) {
                                    throw new IllegalStateException("not released");
                                }
                            });
                }
            });
            camel.start();
            for (int i = 0; i < 200; i++) {
                template.sendBody(PUBLISH, "lag-" + i);
            }
            // the consumer's maintenance measures the lag every few seconds
            await(Duration.ofSeconds(20)).until(() -> details(camel, "stuck").get("lagMessages") instanceof Number n
                                                      && n.longValue() == 200);
            Map<String, Object> details = details(camel, "stuck");
            LOG.info("Health details of a stuck group: {}", details);
            assertEquals("stuck", details.get("group"));
            assertEquals("topic", details.get("mode"));
            // 200 sends ago at least: an age never computed (0) would pass a check of >= 0
            assertTrue(((Number) details.get("lagAgeMillis")).longValue() > 0, "the lag's age: " + details);
            assertEquals(200L, lag("stuck"), "the lag view agrees");
            assertEquals(HealthCheck.State.UP, HealthRecorder.check(camel, "stuck").orElseThrow().getState(),
                    "a group behind is not a broken consumer");
            release.countDown();
            await(Duration.ofSeconds(30)).until(() -> lag("stuck") == 0);
            await(Duration.ofSeconds(20)).until(() -> details(camel, "stuck").get("lagMessages") instanceof Number n
                                                      && n.longValue() == 0);
        }
    }

    private static Map<String, Object> details(CamelContext camel, String routeId) {
        return HealthRecorder.check(camel, routeId).map(HealthCheck.Result::getDetails).orElse(Map.of());
    }

    private static long lag(String group) throws Exception {
        return count("SELECT messages FROM " + TOPIC + "_lag WHERE channel = 'events' AND group_name = '" + group + "'");
    }

    private static long count(String sql) throws Exception {
        Object value = server().queryValue(sql);
        return value == null ? 0 : ((Number) value).longValue();
    }
}
