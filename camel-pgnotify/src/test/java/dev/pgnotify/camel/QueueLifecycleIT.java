package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.support.service.ServiceSupport;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mode=queue: stopping returns what was claimed and closes every connection and thread it opened.
 */
class QueueLifecycleIT extends PgNotifyITSupport {

    private static final String TABLE = "lifecycle_it_queue";

    private final CountDownLatch firstExchangeEntered = new CountDownLatch(1);
    private final CountDownLatch releaseFirstExchange = new CountDownLatch(1);

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:held?table=" + TABLE + "&maxMessagesPerPoll=50").routeId("held").autoStartup(false)
                        .process(exchange -> {
                            firstExchangeEntered.countDown();
                            assertTrue(releaseFirstExchange.await(30, TimeUnit.SECONDS));
                        });
                from("pgnotify:plain?table=" + TABLE + "&concurrentConsumers=3").routeId("plain").to("mock:plain");
            }
        };
    }

    @Test
    void stoppedConsumerHandsBackWhatItClaimedAtOnce() throws Exception {
        List<String> bodies = IntStream.range(0, 50).mapToObj(i -> "held-" + i).toList();
        template.sendBody("pgnotify:held?table=" + TABLE + "&batch=true", bodies);
        context.getRouteController().startRoute("held");
        assertTrue(firstExchangeEntered.await(30, TimeUnit.SECONDS));
        assertEquals(50L, count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'held' AND attempts = 1"),
                "all 50 claimed in one batch");

        CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> {
            try {
                context.getRouteController().stopRoute("held");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        ServiceSupport consumer = (ServiceSupport) context.getRoute("held").getConsumer();
        // Camel suspends the consumer first (a graceful shutdown), then stops it once the exchange is done
        await(Duration.ofSeconds(10)).until(() -> consumer.isSuspendingOrSuspended() || consumer.isStopping()
                                                  || consumer.isStopped());
        releaseFirstExchange.countDown();
        stopping.get(30, TimeUnit.SECONDS);

        // the first was processed and acknowledged, the other 49 are due again now, not when their lease runs out
        assertEquals(49L, count("SELECT count(*) FROM " + TABLE
                                + " WHERE channel = 'held' AND attempts = 0 AND available_at <= now()"));
        assertEquals(49L, count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'held'"));
    }

    @Test
    void stoppingClosesEveryConnectionAndThread() throws Exception {
        getMockEndpoint("mock:plain").expectedMessageCount(10);
        for (int i = 0; i < 10; i++) {
            template.sendBody("pgnotify:plain?table=" + TABLE, "m" + i);
        }
        getMockEndpoint("mock:plain").assertIsSatisfied();
        assertEquals(1, ourListenerConnections());
        assertEquals(3, threadsNamed("PgNotifyQueueConsumer[plain]"));

        context.getRouteController().stopRoute("plain");
        await(Duration.ofSeconds(10)).until(() -> ourListenerConnections() == 0);
        assertEquals(0, threadsNamed("PgNotifyQueueConsumer[plain]"));
        assertEquals(0, threadsNamed("PgNotifyQueueListener[plain]"));
        assertEquals(0, threadsNamed("PgNotifyQueueLeases[plain]"));

        context.stop();
        await(Duration.ofSeconds(10)).until(() -> ourConnections() == 0);
        assertEquals(0, threadsNamed("PgNotifyWakeUp"));
        assertEquals(0, threadsNamed("pgnotify-pool"));
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
