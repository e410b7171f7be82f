package dev.pgnotify.camel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgnotify.camel.test.PgTestServer;
import dev.pgnotify.camel.test.RestartableServerSupport;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static dev.pgnotify.camel.PgNotifyITSupport.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PostgreSQL crashes (immediate stop) while four threads of one consumer drain a keyed backlog. Their claims come back
 * full and keyed, so the threads take turns at the claim statement (rule "Turns" of docs/claim-engine.md); the crash
 * fails the claim in progress, which must end the turns (a thread waiting for a turn that its holder will never give
 * back would wait on). Every message is delivered, each key's messages are first delivered in the order they were
 * queued, and the consumer resumes within the restart time plus 10 s.
 */
class KeyedDrainCrashIT extends RestartableServerSupport {

    private static final Logger LOG = LoggerFactory.getLogger(KeyedDrainCrashIT.class);
    private static final String TABLE = "keyed_crash_queue";
    private static final int MESSAGES = 30_000;
    /** A claim of 100 finds 100 heads of keys not in flight: it comes back full, and the threads take turns. */
    private static final int KEYS = 1_000;

    @Test
    void aCrashDuringAKeyedDrainLosesNothingAndKeepsEachKeysOrder() throws Exception {
        Map<Integer, List<Integer>> deliveredByKey = new ConcurrentHashMap<>();
        Map<Integer, Boolean> seen = new ConcurrentHashMap<>();
        AtomicLong lastDelivery = new AtomicLong();
        try (CamelContext camel = PgNotifyITSupport.reconnectingTo(server)) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:keyed?table=" + TABLE + "&concurrentConsumers=4").routeId("drain")
                            .autoStartup(false)
                            .process(e -> {
                                int n = Integer.parseInt(e.getMessage().getBody(String.class));
                                // first deliveries only: one whose acknowledgement the crash lost comes again
                                if (seen.putIfAbsent(n, Boolean.TRUE) == null) {
                                    deliveredByKey.computeIfAbsent(n % KEYS,
                                            k -> Collections.synchronizedList(new ArrayList<>())).add(n);
                                }
                                lastDelivery.set(System.nanoTime());
                            });
                }
            });
            camel.start();
            // the schema, then the backlog in queue order: message n has key n % KEYS
            camel.createProducerTemplate().sendBody("pgnotify:setup?table=" + TABLE, "setup");
            server.execute("INSERT INTO " + TABLE + " (channel, body_text, message_key)"
                           + " SELECT 'keyed', g::text, (g % " + KEYS + ")::text FROM generate_series(0, "
                           + (MESSAGES - 1) + ") g");
            camel.getRouteController().startRoute("drain");

            await(Duration.ofSeconds(120)).until(() -> seen.size() >= MESSAGES / 3);
            long stoppedAt = System.nanoTime();
            server.stop(PgTestServer.StopMode.IMMEDIATE);
            server.start();
            long restartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
            long startedAt = System.nanoTime();
            await(Duration.ofSeconds(30)).until(() -> lastDelivery.get() > startedAt);
            long resumedMillis = TimeUnit.NANOSECONDS.toMillis(lastDelivery.get() - startedAt);
            await(Duration.ofSeconds(120)).until(() -> seen.size() == MESSAGES);
            LOG.info("Crash restart took {} ms; the keyed drain delivered again {} ms after the server was back",
                    restartMillis, resumedMillis);
            assertTrue(resumedMillis <= 10_000, "resumed within the restart time + 10 s: " + resumedMillis + " ms");
            assertEquals(MESSAGES, seen.size(), "every message delivered");
            for (Map.Entry<Integer, List<Integer>> key : deliveredByKey.entrySet()) {
                List<Integer> order = key.getValue();
                for (int i = 1; i < order.size(); i++) {
                    assertTrue(order.get(i - 1) < order.get(i), "key " + key.getKey() + " first delivered "
                                                                + order.get(i) + " after " + order.get(i - 1));
                }
            }
        }
    }
}
