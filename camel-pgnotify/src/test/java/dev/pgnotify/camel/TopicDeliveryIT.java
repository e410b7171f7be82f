package dev.pgnotify.camel;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;

import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mode=topic delivers every message to every group, in commit order, nothing lost and nothing twice: two groups of
 * 10,000 messages; a group stopped while messages are published catches up; a long-running publishing transaction
 * holds nothing back and is delivered when it commits; a rolled-back INSERT never is; plain SQL publishes like a
 * producer; a new group starts from the latest or the earliest message; bodies and headers travel as in mode=queue.
 */
class TopicDeliveryIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TopicDeliveryIT.class);
    private static final String TOPIC = "td_topic";
    private static final String PROCESSED = "td_processed";
    private static final String PUBLISH = "pgnotify:orders?mode=topic&topicTable=" + TOPIC;

    private ProcessedLog processed;
    private final ConcurrentLinkedQueue<Exchange> received = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void clean() throws Exception {
        dropTopic(TOPIC);
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
                from(PUBLISH + "&group=billing").routeId("billing").autoStartup(false)
                        .process(e -> processed.process(e));
                from(PUBLISH + "&group=audit").routeId("audit").autoStartup(false)
                        .process(e -> processed.process(e));
                from("pgnotify:bodies?mode=topic&topicTable=" + TOPIC + "&group=reader").routeId("bodies")
                        .autoStartup(false).process(e -> {
                            received.add(e.copy());
                        });
                from("pgnotify:starts?mode=topic&topicTable=" + TOPIC + "&retention=3600000&group=latecomer")
                        .routeId("latest").autoStartup(false).process(e -> processed.process(e));
                from("pgnotify:starts?mode=topic&topicTable=" + TOPIC
                     + "&retention=3600000&group=replayer&groupStart=earliest")
                        .routeId("earliest").autoStartup(false).process(e -> processed.process(e));
                from("pgnotify:starts?mode=topic&topicTable=" + TOPIC + "&retention=3600000&group=first")
                        .routeId("first").autoStartup(false).process(e -> processed.process(e));
                from("pgnotify:backlog?mode=topic&topicTable=" + TOPIC
                     + "&group=drainers&groupStart=earliest&concurrentConsumers=3&maxMessagesPerPoll=10")
                        .routeId("drainers").autoStartup(false).process(e -> processed.process(e));
            }
        };
    }

    @Test
    void everyGroupReceivesEveryMessageInCommitOrder() throws Exception {
        context.getRouteController().startRoute("billing");
        context.getRouteController().startRoute("audit");
        List<String> bodies = IntStream.range(0, 10_000).mapToObj(i -> "m" + i).toList();
        for (int from = 0; from < bodies.size(); from += 1000) {
            template.sendBody(PUBLISH + "&batch=true", bodies.subList(from, from + 1000));
        }
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED) >= 20_000);

        for (String group : List.of("billing", "audit")) {
            assertEquals(10_000L, count("SELECT count(DISTINCT message_id) FROM " + PROCESSED + " WHERE grp = '"
                                        + group + "'"),
                    group + " received every message");
            assertEquals(10_000L, count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = '" + group + "'"),
                    group + " received none twice");
            assertEquals(0L, outOfOrder(group), group + " received them in commit order");
        }
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TOPIC + "_items") == 0);
    }

    @Test
    void aGroupStoppedWhileMessagesArePublishedCatchesUp() throws Exception {
        context.getRouteController().startRoute("billing");
        context.getRouteController().startRoute("audit");
        CompletableFuture<Void> publishing = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 3000; i++) {
                template.sendBody(PUBLISH, "p" + i);
            }
        });
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'audit'") >= 500);
        context.getRouteController().stopRoute("audit");
        long beforeStop = count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'audit'");
        publishing.get();
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'billing'") >= 3000);
        assertTrue(beforeStop < 3000, "audit was stopped before the publishing ended: " + beforeStop);
        LOG.info("audit stopped after {} of 3,000 messages; billing went on", beforeStop);

        context.getRouteController().startRoute("audit");
        await(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'audit'") >= 3000);
        for (String group : List.of("billing", "audit")) {
            assertEquals(3000L, count("SELECT count(DISTINCT message_id) FROM " + PROCESSED + " WHERE grp = '"
                                      + group + "'"),
                    group + ": nothing lost");
            assertEquals(0L, count("SELECT count(*) - count(DISTINCT message_id) FROM " + PROCESSED + " WHERE grp = '"
                                   + group + "'"),
                    group + ": nothing twice (a stop hands back what it claimed, with its progress)");
            assertEquals(0L, outOfOrder(group), group + ": in commit order");
        }
    }

    @Test
    void aLongRunningPublisherHoldsNothingBackAndIsDeliveredWhenItCommits() throws Exception {
        context.getRouteController().startRoute("billing");
        context.getRouteController().startRoute("audit");
        template.sendBody(PUBLISH, "warm-up");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED) == 2);

        try (Connection longRunning = server().connect(); Connection rolledBack = server().connect()) {
            longRunning.setAutoCommit(false);
            rolledBack.setAutoCommit(false);
            // the outbox pattern: the application's own transaction publishes with a plain INSERT
            insertBySql(longRunning, "long-running");
            insertBySql(rolledBack, "rolled-back");
            for (int i = 0; i < 100; i++) {
                template.sendBody(PUBLISH, "after-" + i);
            }
            // published after the open transactions began, committed before them: delivered at once
            await(Duration.ofSeconds(20)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                            + " WHERE body LIKE 'after-%'") == 200);
            assertEquals(0L, count("SELECT count(*) FROM " + PROCESSED + " WHERE body = 'long-running'"));
            rolledBack.rollback();
            longRunning.commit();
        }
        await(Duration.ofSeconds(20)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE body = 'long-running'") == 2);
        template.sendBody(PUBLISH, "marker");
        await(Duration.ofSeconds(20)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE body = 'marker'") == 2);
        assertEquals(0L, count("SELECT count(*) FROM " + PROCESSED + " WHERE body = 'rolled-back'"),
                "a rolled-back INSERT is never delivered");
        // commit order: the long-running transaction's message comes after the 100 that committed before it
        for (String group : List.of("billing", "audit")) {
            assertTrue(count("SELECT max(seq) FROM " + PROCESSED + " WHERE grp = '" + group
                             + "' AND body LIKE 'after-%'")
                       < count("SELECT seq FROM " + PROCESSED + " WHERE grp = '" + group
                               + "' AND body = 'long-running'"),
                    group + " received the long-running transaction's message after those committed before it");
        }
    }

    /**
     * A backlog larger than a cut's limit (maxMessagesPerPoll x 20) is cut in pieces, each transaction whole, and the
     * group's threads share it at full speed: a cut that stopped at a transaction straddling its limit must still say
     * there is more, and the batches a claim could not take must go to the next claim (both once stalled a group of
     * several threads at one batch a second).
     */
    @Test
    void aBacklogOfLargeTransactionsIsCutInPiecesAndSharedByTheGroupsThreads() throws Exception {
        String publish = "pgnotify:backlog?mode=topic&topicTable=" + TOPIC + "&batch=true";
        int transactions = 6;
        int perTransaction = 1_500;
        for (int t = 0; t < transactions; t++) {
            int first = t * perTransaction;
            template.sendBody(publish, IntStream.range(first, first + perTransaction).mapToObj(i -> "m" + i).toList());
        }
        long started = System.nanoTime();
        context.getRouteController().startRoute("drainers");
        int total = transactions * perTransaction;
        await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'drainers'") >= total);
        long millis = (System.nanoTime() - started) / 1_000_000;
        LOG.info("A backlog of {} messages in {} transactions, batches of 10, drained by 3 threads in {} ms", total,
                transactions, millis);
        assertEquals((long) total, count("SELECT count(DISTINCT body) FROM " + PROCESSED + " WHERE grp = 'drainers'"),
                "every message once");
        assertEquals((long) total, count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'drainers'"),
                "nothing twice");
    }

    @Test
    void aNewGroupStartsFromTheLatestOrTheEarliestMessage() throws Exception {
        // the group "first" registers the channel's first group; retention keeps what it has processed
        context.getRouteController().startRoute("first");
        for (int i = 0; i < 5; i++) {
            template.sendBody("pgnotify:starts?mode=topic&topicTable=" + TOPIC, "early-" + i);
        }
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'first'")
                                                  == 5);
        context.getRouteController().startRoute("latest");
        context.getRouteController().startRoute("earliest");
        template.sendBody("pgnotify:starts?mode=topic&topicTable=" + TOPIC, "late");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED + " WHERE body = 'late'")
                                                  == 3);
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'replayer'") == 6);
        assertEquals(1L, count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'latecomer'"),
                "groupStart=latest: only what was published after the group registered");
        assertEquals(6L, count("SELECT count(*) FROM " + PROCESSED + " WHERE grp = 'replayer'"),
                "groupStart=earliest: everything the log still held, then the new ones");
        // a registered group resumes where it was, whatever groupStart says
        context.getRouteController().stopRoute("earliest");
        template.sendBody("pgnotify:starts?mode=topic&topicTable=" + TOPIC, "while-away");
        context.getRouteController().startRoute("earliest");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + PROCESSED
                                                        + " WHERE grp = 'replayer'") == 7);
    }

    @Test
    void bodiesAndHeadersTravelAsInQueueMode() throws Exception {
        context.getRouteController().startRoute("bodies");
        String publish = "pgnotify:bodies?mode=topic&topicTable=" + TOPIC;
        String text = "  exact text: ünïcödé, \"quotes\", tabs\t and \n newlines  ";
        String json = "{\"order\": 42, \"items\": [1, 2]}";
        byte[] binary = new byte[256];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) i;
        }
        byte[] large = new byte[50 * 1024 * 1024];
        new Random(7).nextBytes(large);
        template.sendBodyAndHeader(publish, text, "tenant", "acme");
        template.sendBodyAndHeader(publish, json, "priority", 5);
        template.sendBody(publish, binary);
        long started = System.nanoTime();
        template.sendBody(publish, large);
        Object ids = template.requestBody(publish + "&batch=true", List.of("b1", "b2", "b3"), Object.class);
        await(Duration.ofSeconds(60)).until(() -> received.size() == 7);
        LOG.info("A 50 MB binary body round trip: {} ms", (System.nanoTime() - started) / 1_000_000);

        List<Exchange> exchanges = new ArrayList<>(received);
        assertEquals(text, exchanges.get(0).getMessage().getBody(String.class));
        assertEquals("acme", exchanges.get(0).getMessage().getHeader("tenant"));
        assertEquals("reader", exchanges.get(0).getMessage().getHeader(PgNotifyConstants.GROUP));
        assertEquals("bodies", exchanges.get(0).getMessage().getHeader(PgNotifyConstants.CHANNEL));
        assertEquals(1, exchanges.get(0).getMessage().getHeader(PgNotifyConstants.ATTEMPT));
        assertTrue(exchanges.get(0).getMessage().getHeader(PgNotifyConstants.CREATED_AT) != null);
        assertEquals(String.valueOf(exchanges.get(0).getMessage().getHeader(PgNotifyConstants.MESSAGE_ID)),
                exchanges.get(0).getMessage().getMessageId(), "Camel's message id is the log's");
        assertEquals(exchanges.get(0).getMessage().getHeader(PgNotifyConstants.CREATED_AT, Instant.class).toEpochMilli(),
                exchanges.get(0).getMessage().getMessageTimestamp(), "its timestamp the creation time");
        assertEquals(5, exchanges.get(1).getMessage().getHeader("priority", Integer.class));
        assertEquals(42L, count("SELECT (body_json->>'order')::bigint FROM " + TOPIC + " WHERE channel = 'bodies'"
                                + " AND body_json IS NOT NULL"),
                "a JSON body is queryable in the log");
        assertArrayEquals(binary, exchanges.get(2).getMessage().getBody(byte[].class));
        assertArrayEquals(large, exchanges.get(3).getMessage().getBody(byte[].class), "50 MB byte for byte");
        assertInstanceOf(List.class, ids);
        assertEquals(3, ((List<?>) ids).size(), "batch=true: the ids of the elements");
        assertEquals("b3", exchanges.get(6).getMessage().getBody(String.class));
        assertEquals(new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8),
                exchanges.get(0).getMessage().getBody(String.class));
    }

    private static void insertBySql(Connection connection, String body) throws Exception {
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO " + TOPIC + " (channel, body_text) VALUES ('orders', ?)")) {
            insert.setString(1, body);
            insert.executeUpdate();
        }
    }

    /** Deliveries of the group whose message id is lower than that of the delivery before. */
    private static long outOfOrder(String group) throws Exception {
        return count("SELECT count(*) FROM (SELECT message_id < lag(message_id) OVER (ORDER BY seq) AS back FROM "
                     + PROCESSED + " WHERE grp = '" + group + "') d WHERE back");
    }

    private static long count(String sql) throws Exception {
        Object value = server().queryValue(sql);
        return value == null ? 0 : ((Number) value).longValue();
    }
}
