package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import dev.pgnotify.camel.test.ChildJvm;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-key order (header CamelPgNotifyKey, column message_key): each key's messages are processed in send order and
 * never two at a time, across every thread of two JVMs, while other keys flow in parallel; a failing message holds
 * back only its own key.
 */
class KeyedOrderIT extends PgNotifyITSupport {

    private static final String TABLE = "keyed_it_queue";
    private static final String KEYED = "pgnotify:keyed?table=" + TABLE;
    private static final int KEYS = 100;
    private static final int PER_KEY = 50;

    private final AtomicInteger stuckAttempts = new AtomicInteger();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        KeyedWorkLog.create(server());
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(KEYED + "&concurrentConsumers=4&maxMessagesPerPoll=20&pollInterval=200").routeId("keyed")
                        .autoStartup(false)
                        .process(new KeyedWorkLog(server(), "test"));
                from("pgnotify:keyed-failing?table=" + TABLE + "&concurrentConsumers=4&retryDelay=300"
                     + "&pollInterval=200").routeId("keyed-failing")
                        .process(exchange -> {
                            String body = exchange.getMessage().getBody(String.class);
                            if (body.equals("stuck:1") && stuckAttempts.incrementAndGet() <= 2) {
                                throw new IllegalStateException("fails twice");
                            }
                        })
                        .process(new KeyedWorkLog(server(), "failing"));
            }
        };
    }

    @Test
    void eachKeysMessagesRunInSendOrderOneAtATimeAcrossThreadsAndJvms() throws Exception {
        // published with plain SQL, as another application would: the key is a column; interleaved, key by key
        server().execute("DELETE FROM " + TABLE);
        try (ChildJvm child = ChildJvm.start(server(), ChildJvm.logFile("keyed-child"), KeyedConsumerProcess.class,
                "keyed", TABLE, "4")) {
            context.getRouteController().startRoute("keyed");
            // both JVMs warmed up and claiming, so that both take keys when the stream comes
            server().execute("INSERT INTO " + TABLE + " (channel, body_text, message_key)"
                             + " SELECT 'keyed', 'warm' || k || ':1', 'warm' || k FROM generate_series(1, 200) k");
            await(Duration.ofSeconds(60)).until(() -> count("SELECT count(DISTINCT split_part(worker, '/', 1)) FROM "
                                                            + KeyedWorkLog.TABLE) == 2
                                                      && count("SELECT count(*) FROM " + TABLE) == 0);
            server().execute("DELETE FROM " + KeyedWorkLog.TABLE);
            server().execute("INSERT INTO " + TABLE + " (channel, body_text, message_key)"
                             + " SELECT 'keyed', 'k' || k || ':' || s, 'k' || k"
                             + " FROM generate_series(1, " + PER_KEY + ") s, generate_series(1, " + KEYS + ") k"
                             + " ORDER BY s, k");
            await(Duration.ofSeconds(120)).until(() -> count("SELECT count(*) FROM " + KeyedWorkLog.TABLE
                                                             + " WHERE finished IS NOT NULL") >= KEYS * PER_KEY);
            await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE) == 0);
        }
        Map<String, List<long[]>> byKey = KeyedWorkLog.byKey(server(), "");
        assertEquals(KEYS, byKey.size());
        int parallelKeys = 0;
        for (Map.Entry<String, List<long[]>> key : byKey.entrySet()) {
            List<long[]> runs = key.getValue();
            assertEquals(PER_KEY, runs.size(), key.getKey() + ": each message once");
            for (int i = 0; i < runs.size(); i++) {
                assertEquals(i + 1, runs.get(i)[0], key.getKey() + ": processed in send order");
                if (i > 0) {
                    assertTrue(runs.get(i)[1] >= runs.get(i - 1)[2],
                            key.getKey() + ": message " + (i + 1) + " started before message " + i + " ended");
                }
            }
        }
        // and keys were processed in parallel, by both JVMs
        assertTrue(count("SELECT count(DISTINCT split_part(worker, '/', 1)) FROM " + KeyedWorkLog.TABLE) == 2,
                "both JVMs worked");
        long overlapping = count("SELECT count(*) FROM " + KeyedWorkLog.TABLE + " a JOIN " + KeyedWorkLog.TABLE
                                 + " b ON a.message_key <> b.message_key AND a.started < b.finished"
                                 + " AND b.started < a.finished AND a.id < b.id");
        assertTrue(overlapping > 0, "messages of different keys ran at the same time");
    }

    @Test
    void aFailingMessageHoldsBackOnlyItsOwnKey() throws Exception {
        for (int seq = 1; seq <= 3; seq++) {
            template.sendBodyAndHeader("pgnotify:keyed-failing?table=" + TABLE, "stuck:" + seq,
                    PgNotifyConstants.KEY, "stuck");
        }
        for (int seq = 1; seq <= 3; seq++) {
            template.sendBodyAndHeader("pgnotify:keyed-failing?table=" + TABLE, "free:" + seq,
                    PgNotifyConstants.KEY, "free");
        }
        await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + KeyedWorkLog.TABLE
                                                        + " WHERE finished IS NOT NULL") == 6);
        Map<String, List<long[]>> byKey = KeyedWorkLog.byKey(server(), "");
        assertEquals(List.of(1L, 2L, 3L), byKey.get("stuck").stream().map(r -> r[0]).toList());
        assertEquals(List.of(1L, 2L, 3L), byKey.get("free").stream().map(r -> r[0]).toList());
        assertEquals(3, stuckAttempts.get(), "stuck:1 failed twice, then went through");
        // the free key did not wait for the stuck one's retries (300 ms, then 600 ms)
        assertTrue(byKey.get("free").get(2)[2] < byKey.get("stuck").get(0)[1],
                "the free key was done before the stuck key's first message got through");
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
