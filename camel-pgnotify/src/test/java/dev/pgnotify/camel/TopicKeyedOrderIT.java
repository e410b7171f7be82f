package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-key order in a topic group (header CamelPgNotifyKey, column message_key of the log): within a group, each key's
 * messages are processed in order and never two at a time, across every thread of two applications sharing the
 * group, while other keys flow in parallel; another group gets the same messages in the same per-key order; a
 * failing message holds back its key (and the messages of its key after it in its batch), not the others.
 */
class TopicKeyedOrderIT extends PgNotifyITSupport {

    private static final String TABLE = "keyed_it_topic";
    private static final int KEYS = 100;
    private static final int PER_KEY = 50;

    private final AtomicInteger stuckAttempts = new AtomicInteger();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        TopicDeliveryIT.dropTopic(TABLE);
        KeyedWorkLog.create(server());
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(uri("ledger") + "&concurrentConsumers=4&maxMessagesPerPoll=20&pollInterval=200")
                        .routeId("ledger").autoStartup(false)
                        .process(new KeyedWorkLog(server(), "ledger-app1"));
                from(uri("audit") + "&concurrentConsumers=2&maxMessagesPerPoll=50&pollInterval=200")
                        .routeId("audit").autoStartup(false)
                        .process(new KeyedWorkLog(server(), "audit-app1"));
                from(uri("failing") + "&concurrentConsumers=4&retryDelay=300&pollInterval=200")
                        .routeId("failing").autoStartup(false)
                        .process(exchange -> {
                            String body = exchange.getMessage().getBody(String.class);
                            if (body.equals("stuck:1") && stuckAttempts.incrementAndGet() <= 2) {
                                throw new IllegalStateException("fails twice");
                            }
                        })
                        .process(new KeyedWorkLog(server(), "failing-app1"));
            }
        };
    }

    private static String uri(String group) {
        return "pgnotify:accounts?mode=topic&topicTable=" + TABLE + "&group=" + group + "&groupStart=earliest";
    }

    @Test
    void eachKeysMessagesRunInOrderOneAtATimeWithinAGroupAcrossApplications() throws Exception {
        CamelContext second = secondApplication();
        try {
            context.getRouteController().startRoute("ledger");
            context.getRouteController().startRoute("audit");
            // published with plain SQL, as another application would: the key is a column; interleaved, key by key
            template.sendBody("pgnotify:accounts?mode=topic&topicTable=" + TABLE, "warm:0");
            server().execute("INSERT INTO " + TABLE + " (channel, body_text, message_key)"
                             + " SELECT 'accounts', 'k' || k || ':' || s, 'k' || k"
                             + " FROM generate_series(1, " + PER_KEY + ") s, generate_series(1, " + KEYS + ") k"
                             + " ORDER BY s, k");
            await(Duration.ofSeconds(120)).until(() -> count("SELECT count(*) FROM " + KeyedWorkLog.TABLE
                                                             + " WHERE finished IS NOT NULL AND message_key <> 'warm'")
                                                       >= 2L * KEYS * PER_KEY);
        } finally {
            second.stop();
        }
        for (String group : new String[] { "ledger", "audit" }) {
            Map<String, List<long[]>> byKey = KeyedWorkLog.byKey(server(), " WHERE worker LIKE '" + group
                                                                           + "-%' AND message_key <> 'warm'");
            assertEquals(KEYS, byKey.size(), group);
            for (Map.Entry<String, List<long[]>> key : byKey.entrySet()) {
                List<long[]> runs = key.getValue();
                assertEquals(PER_KEY, runs.size(), group + " " + key.getKey() + ": each message once");
                for (int i = 0; i < runs.size(); i++) {
                    assertEquals(i + 1, runs.get(i)[0], group + " " + key.getKey() + ": processed in send order");
                    if (i > 0) {
                        assertTrue(runs.get(i)[1] >= runs.get(i - 1)[2], group + " " + key.getKey() + ": message "
                                                                         + (i + 1) + " started before message " + i
                                                                         + " ended");
                    }
                }
            }
        }
        assertEquals(2L, count("SELECT count(DISTINCT split_part(worker, '/', 1)) FROM " + KeyedWorkLog.TABLE
                               + " WHERE worker LIKE 'ledger-%'"), "both applications worked for the ledger group");
        long overlapping = count("SELECT count(*) FROM " + KeyedWorkLog.TABLE + " a JOIN " + KeyedWorkLog.TABLE
                                 + " b ON a.message_key <> b.message_key AND a.started < b.finished"
                                 + " AND b.started < a.finished AND a.id < b.id"
                                 + " WHERE a.worker LIKE 'ledger-%' AND b.worker LIKE 'ledger-%'");
        assertTrue(overlapping > 0, "messages of different keys ran at the same time");
    }

    @Test
    void aFailingMessageHoldsBackItsKeyButNotTheOthers() throws Exception {
        context.getRouteController().startRoute("failing");
        // one transaction: one cut, so that both keys' messages share batches
        server().execute("INSERT INTO " + TABLE + " (channel, body_text, message_key)"
                         + " SELECT 'accounts', key || ':' || s, key FROM generate_series(1, 3) s,"
                         + " unnest(ARRAY['stuck', 'free']) key ORDER BY s, key");
        await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + KeyedWorkLog.TABLE
                                                        + " WHERE finished IS NOT NULL") == 6);
        Map<String, List<long[]>> byKey = KeyedWorkLog.byKey(server(), " WHERE worker LIKE 'failing-%'");
        assertEquals(List.of(1L, 2L, 3L), byKey.get("stuck").stream().map(r -> r[0]).toList());
        assertEquals(List.of(1L, 2L, 3L), byKey.get("free").stream().map(r -> r[0]).toList());
        assertEquals(3, stuckAttempts.get(), "stuck:1 failed twice, then went through");
        assertTrue(byKey.get("free").get(2)[2] < byKey.get("stuck").get(0)[1],
                "the free key was done before the stuck key's first message got through");
    }

    /** A second application sharing the ledger group. */
    private CamelContext secondApplication() throws Exception {
        return application(server().jdbcUrl(), server().username(), server().password(), new RouteBuilder() {
            @Override
            public void configure() {
                from(uri("ledger") + "&concurrentConsumers=4&maxMessagesPerPoll=20&pollInterval=200")
                        .process(new KeyedWorkLog(server(), "ledger-app2"));
            }
        });
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
