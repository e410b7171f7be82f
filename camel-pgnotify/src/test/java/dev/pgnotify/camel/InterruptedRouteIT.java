package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A route that leaves its thread interrupted (a library that restores the interrupt flag after catching an
 * InterruptedException, say) and returns normally: the consumer goes on delivering, and still renews the leases of
 * what it holds.
 */
class InterruptedRouteIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(InterruptedRouteIT.class);
    private static final String TABLE = "interrupted_it_queue";
    private static final String SEND = "pgnotify:interrupted?table=" + TABLE;
    private static final long LEASE_MILLIS = 1000;

    private final List<String> deliveries = new CopyOnWriteArrayList<>();
    private final CountDownLatch slowStarted = new CountDownLatch(1);
    private final CountDownLatch slowRelease = new CountDownLatch(1);

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(SEND + "&concurrentConsumers=1&leaseTime=" + LEASE_MILLIS + "&pollInterval=200")
                        .routeId("interrupted")
                        .process(exchange -> {
                            String body = exchange.getMessage().getBody(String.class);
                            deliveries.add(body + "#" + exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT));
                            if (body.equals("interrupts")) {
                                Thread.currentThread().interrupt();
                            } else if (body.equals("slow")) {
                                slowStarted.countDown();
                                if (!slowRelease.await(30, TimeUnit.SECONDS)) {
                                    throw new IllegalStateException("not released");
                                }
                            }
                        });
            }
        };
    }

    @AfterEach
    void release() {
        slowRelease.countDown();
    }

    /**
     * With one consumer thread, a message whose route interrupts the thread and returns normally; every later message
     * must still be delivered, and a message that takes longer than the lease must keep its lease (not be claimed
     * again). Today the next wait of the thread throws InterruptedException, which stops the whole consumer: nothing
     * more is delivered, although the route still counts as started.
     */
    @Test
    void aRouteThatInterruptsItsThreadDoesNotStopTheConsumer() throws Exception {
        template.sendBody(SEND, "interrupts");
        await(Duration.ofSeconds(10)).until(() -> deliveries.contains("interrupts#1"));

        template.sendBody(SEND, "after 1");
        template.sendBody(SEND, "after 2");
        try {
            await(Duration.ofSeconds(5)).alias("the messages after the interrupting one delivered")
                    .until(() -> deliveries.containsAll(List.of("after 1#1", "after 2#1")));
        } finally {
            LOG.info("Deliveries after a route interrupted its thread: {}", deliveries);
        }

        // longer than its lease: the lease must be renewed meanwhile
        template.sendBody(SEND, "slow");
        assertTrue(slowStarted.await(10, TimeUnit.SECONDS), "the slow message was delivered");
        long renewedPast = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * LEASE_MILLIS);
        await(Duration.ofSeconds(10)).until(() -> System.nanoTime() > renewedPast);
        assertEquals(Boolean.TRUE, server().queryValue("SELECT available_at > now() AND attempts = 1 FROM " + TABLE
                                                       + " WHERE body_text = 'slow'"),
                "three leases later, the slow message's lease is still held (renewed) by its only delivery");
        slowRelease.countDown();
        await(Duration.ofSeconds(5)).until(() -> ((Number) server().queryValue("SELECT count(*) FROM " + TABLE))
                .longValue() == 0);
        assertEquals(List.of("interrupts#1", "after 1#1", "after 2#1", "slow#1"), deliveries);
    }
}
