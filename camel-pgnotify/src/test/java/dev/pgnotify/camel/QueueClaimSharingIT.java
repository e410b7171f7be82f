package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.support.service.ServiceSupport;
import org.junit.jupiter.api.Test;

/**
 * A consumer of several threads shares a claim with its idle threads: a burst that one thread claimed is not delivered
 * one message after the other in that thread's route while the other threads wait idle (with 16 threads and bursts of
 * ten 1 ms jobs, the last of a burst started 9 ms after the first). A thread that helped leaves its acknowledgement for
 * the next claim; a stop sends it, and hands back at once what was claimed and not delivered.
 */
class QueueClaimSharingIT extends PgNotifyITSupport {

    private static final String TABLE = "claim_sharing_queue";
    private static final int THREADS = 8;

    /** Every message of the burst is in the route before any may finish. */
    private final CountDownLatch allInRoute = new CountDownLatch(THREADS);
    private final Map<String, Boolean> together = new ConcurrentHashMap<>();
    /** Holds the stopping route's exchanges, so that the rest of its claim waits, handed off. */
    private final CountDownLatch releaseStopping = new CountDownLatch(1);
    private final CountDownLatch stoppingInRoute = new CountDownLatch(2);
    private final Map<String, Boolean> stoppingDelivered = new ConcurrentHashMap<>();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:burst?table=" + TABLE + "&concurrentConsumers=" + THREADS + "&pollInterval=60000")
                        .routeId("burst")
                        .process(exchange -> {
                            allInRoute.countDown();
                            together.put(exchange.getMessage().getBody(String.class),
                                    allInRoute.await(20, TimeUnit.SECONDS));
                        });
                from("pgnotify:stopping?table=" + TABLE + "&concurrentConsumers=2&leaseTime=120000"
                     + "&pollInterval=60000")
                        .routeId("stopping").autoStartup(false)
                        .process(exchange -> {
                            stoppingDelivered.put(exchange.getMessage().getBody(String.class), true);
                            stoppingInRoute.countDown();
                            assertTrue(releaseStopping.await(30, TimeUnit.SECONDS), "released");
                        });
            }
        };
    }

    @Test
    void aBurstClaimedByOneThreadRunsOnEveryIdleThreadAtOnce() throws Exception {
        awaitIdle("PgNotifyQueueConsumer[burst]", THREADS);
        // one statement, one commit: the burst is there at once for whichever thread's claim comes first
        server().execute("INSERT INTO " + TABLE + " (channel, body_text) SELECT 'burst', 'm' || g"
                         + " FROM generate_series(1, " + THREADS + ") g");
        await(Duration.ofSeconds(30)).until(() -> together.size() == THREADS);
        assertEquals(THREADS, together.values().stream().filter(Boolean::booleanValue).count(),
                "all " + THREADS + " messages in the route at the same time: " + together);
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'burst'")
                                                  == 0);
    }

    @Test
    void aStopAcknowledgesWhatHelpersDeliveredAndHandsBackTheRestAtOnce() throws Exception {
        int messages = 10;
        context.getRouteController().startRoute("stopping");
        awaitIdle("PgNotifyQueueConsumer[stopping]", 2);
        server().execute("INSERT INTO " + TABLE + " (channel, body_text) SELECT 'stopping', 's' || g"
                         + " FROM generate_series(1, " + messages + ") g");
        // both threads hold a message in the route (one claimed them all and handed one off); the rest of the claim is
        // the claiming thread's, leased for 120 s
        assertTrue(stoppingInRoute.await(30, TimeUnit.SECONDS), "two messages in the route");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'stopping'"
                                                        + " AND available_at > now()") == messages);
        ServiceSupport consumer = (ServiceSupport) context.getRoute("stopping").getConsumer();
        ExecutorService stopper = Executors.newSingleThreadExecutor();
        try {
            Future<?> stop = stopper.submit(() -> {
                context.getRouteController().stopRoute("stopping", 30, TimeUnit.SECONDS);
                return null;
            });
            // the stop has begun (Camel suspends the consumer first): the threads then take no more messages
            await(Duration.ofSeconds(10)).until(() -> consumer.isSuspendingOrSuspended() || consumer.isStoppingOrStopped());
            releaseStopping.countDown();
            stop.get(60, TimeUnit.SECONDS);
        } finally {
            stopper.shutdownNow();
        }
        int delivered = stoppingDelivered.size();
        // the delivered ones acknowledged, every other one due again now: not 120 s later
        assertEquals(List.of(messages - delivered, messages - delivered),
                List.of(count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'stopping'"),
                        count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'stopping'"
                              + " AND available_at <= now()")),
                delivered + " delivered; the rest (all, due now)");
        assertTrue(delivered < messages, "the stop left messages undelivered: " + delivered);
    }

    /**
     * Waits until that many of the consumer's threads wait for a wake-up (idle): a claim shares with idle threads
     * only, so the burst must find them so.
     */
    private static void awaitIdle(String threadName, int threads) {
        await(Duration.ofSeconds(30)).until(() -> Thread.getAllStackTraces().entrySet().stream()
                .filter(t -> t.getKey().getName().contains(threadName))
                .filter(t -> Arrays.stream(t.getValue())
                        .anyMatch(frame -> frame.getClassName().endsWith("WakeUpSignal")
                                           && frame.getMethodName().equals("await")))
                .count() == threads);
    }

    private static int count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).intValue();
    }
}
