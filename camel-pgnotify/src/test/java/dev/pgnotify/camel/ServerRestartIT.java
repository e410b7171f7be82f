package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import dev.pgnotify.camel.test.PgTestServer;
import dev.pgnotify.camel.test.RestartableServerSupport;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static dev.pgnotify.camel.PgNotifyITSupport.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PostgreSQL restarted (fast) and crashed (immediate) in the middle of a stream, on a server of the test's own that
 * commits synchronously, as production servers do: every send that returned is delivered, consumers resume within
 * the restart time plus 10 s, and the pool refills.
 */
class ServerRestartIT extends RestartableServerSupport {

    private static final Logger LOG = LoggerFactory.getLogger(ServerRestartIT.class);
    private static final int MESSAGES = 20_000;
    private static final int PRODUCERS = 2;

    @Test
    void everyAcknowledgedSendIsDeliveredAcrossAFastRestartAndACrash() throws Exception {
        Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
        AtomicLong lastDelivery = new AtomicLong();
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        try (CamelContext camel = PgNotifyITSupport.reconnectingTo(server)) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:send").routeId("sender")
                            .errorHandler(defaultErrorHandler().maximumRedeliveries(200).redeliveryDelay(100))
                            .to("pgnotify:restart");
                    from("pgnotify:restart?concurrentConsumers=2").routeId("consumer").process(e -> {
                        received.computeIfAbsent(e.getMessage().getBody(String.class), k -> new AtomicInteger())
                                .incrementAndGet();
                        lastDelivery.set(System.nanoTime());
                    });
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            AtomicInteger next = new AtomicInteger();
            List<CompletableFuture<Void>> producers = IntStream.range(0, PRODUCERS)
                    .mapToObj(p -> CompletableFuture.runAsync(() -> {
                        for (int i = next.getAndIncrement(); i < MESSAGES; i = next.getAndIncrement()) {
                            template.sendBody("direct:send", "m" + i);
                            acknowledged.add("m" + i);
                        }
                    })).toList();

            for (PgTestServer.StopMode mode : PgTestServer.StopMode.values()) {
                int at = mode == PgTestServer.StopMode.FAST ? MESSAGES / 4 : MESSAGES / 2;
                await(Duration.ofSeconds(120)).until(() -> received.size() >= at);
                long stoppedAt = System.nanoTime();
                server.stop(mode);
                server.start();
                long restartMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
                long startedAt = System.nanoTime();
                await(Duration.ofSeconds(30)).until(() -> lastDelivery.get() > startedAt);
                long resumedMillis = TimeUnit.NANOSECONDS.toMillis(lastDelivery.get() - startedAt);
                LOG.info("{} restart took {} ms; the consumer delivered again {} ms after the server was back", mode,
                        restartMillis, resumedMillis);
                assertTrue(resumedMillis <= 10_000, mode + ": resumed within the restart time + 10 s");
            }
            for (CompletableFuture<Void> producer : producers) {
                producer.get(180, TimeUnit.SECONDS);
            }
            await(Duration.ofSeconds(120)).until(() -> received.keySet().containsAll(acknowledged));
            int twice = received.values().stream().mapToInt(AtomicInteger::get).sum() - received.size();
            long pooled = ((Number) server.queryValue(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'camel-pgnotify'")).longValue();
            LOG.info("{} sends acknowledged, {} distinct messages delivered, {} delivered twice (acknowledgements the"
                     + " crash lost: they commit without waiting for the disk); {} pooled connection(s) after",
                    acknowledged.size(), received.size(), twice, pooled);
            assertEquals(MESSAGES, acknowledged.size(), "every send returned (after redelivery)");
            assertTrue(received.keySet().containsAll(acknowledged), "every acknowledged send delivered");
            assertTrue(pooled >= 1, "the pool refilled");
        }
    }
}
