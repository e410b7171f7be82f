package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-key order must hold however many messages wait below the consumer's frontier: a keyed message waits while an
 * earlier one of its key is retrying, even when more than the 10,000 items the sweep keeps an eye on are unfinished.
 */
class KeyedOrderBeyondTrackedIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(KeyedOrderBeyondTrackedIT.class);
    private static final String TABLE = "keyed_tracked_it_queue";
    private static final String SEND = "pgnotify:keyed-tracked?table=" + TABLE;
    private static final int DELAYED = 10_000;
    private static final long DELAY_MILLIS = 4000;
    private static final long RETRY_DELAY_MILLIS = 10_000;

    private final AtomicInteger delayedDelivered = new AtomicInteger();
    private final AtomicInteger otherDelivered = new AtomicInteger();
    private final AtomicInteger otherSent = new AtomicInteger();
    /** When each delivery of K1 and K2 started and ended (System.nanoTime()), by body and attempt. */
    private final Map<String, long[]> keyed = new ConcurrentHashMap<>();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(SEND + "&retryDelay=" + RETRY_DELAY_MILLIS + "&pollInterval=500&concurrentConsumers=2")
                        .routeId("keyed")
                        .process(exchange -> {
                            String body = exchange.getMessage().getBody(String.class);
                            if (body.startsWith("delayed")) {
                                delayedDelivered.incrementAndGet();
                                return;
                            }
                            if (body.startsWith("other")) {
                                otherDelivered.incrementAndGet();
                                return;
                            }
                            int attempt = exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class);
                            long[] times = { System.nanoTime(), 0 };
                            keyed.put(body + "#" + attempt, times);
                            try {
                                if (body.equals("K1") && attempt == 1) {
                                    throw new IllegalStateException("K1's first delivery fails");
                                }
                            } finally {
                                times[1] = System.nanoTime();
                            }
                        });
            }
        };
    }

    /**
     * 10,000 messages delayed 4 s (as many as the sweep tracks), then K1 of key k, whose first delivery fails (retried
     * 10 s later), then, once the delayed ones were delivered, K2 of key k: K2 must not start before K1 completed. Other
     * messages flow in between, so that the consumer's frontier moves past the delayed messages and K1 (the sweep then
     * watches them below it). Today the sweep tracks no more than 10,000 rows, so K1 is never tracked; once the delayed
     * ones are gone, the lower bound of the per-key look-up rises above K1 and K2 is claimed while K1 waits for its
     * retry.
     */
    @Test
    void aKeyedMessageWaitsForTheRetryOfAnEarlierOneBeyondTenThousandUnfinishedRows() throws Exception {
        for (int from = 0; from < DELAYED; from += 1000) {
            List<String> bodies = IntStream.range(from, from + 1000).mapToObj(i -> "delayed " + i).toList();
            template.sendBodyAndHeader(SEND + "&batch=true", bodies, PgNotifyConstants.DELAY, DELAY_MILLIS);
        }
        long delayedSent = System.nanoTime();
        traffic(100);
        template.sendBodyAndHeader(SEND, "K1", PgNotifyConstants.KEY, "k");
        await(Duration.ofSeconds(10)).until(() -> keyed.containsKey("K1#1") && keyed.get("K1#1")[1] != 0);
        traffic(100);
        long beforeDue = DELAY_MILLIS - (System.nanoTime() - delayedSent) / 1_000_000;
        assertTrue(beforeDue > 1000, "the sweeps had time to track the delayed messages and pass K1 before they fell"
                                     + " due (" + beforeDue + " ms left)");

        // the delayed messages fall due and are delivered, long before K1's retry
        await(Duration.ofSeconds(DELAY_MILLIS / 1000 + 10)).until(() -> delayedDelivered.get() == DELAYED);
        long drained = System.nanoTime();
        assertTrue(!keyed.containsKey("K1#2"), "K1 is still waiting for its retry");
        traffic(100);
        long k2Sent = System.nanoTime();
        template.sendBodyAndHeader(SEND, "K2", PgNotifyConstants.KEY, "k");
        traffic(100);

        await(Duration.ofSeconds(RETRY_DELAY_MILLIS / 1000 + 10)).until(() -> keyed.containsKey("K1#2")
                                                                              && keyed.get("K1#2")[1] != 0
                                                                              && keyed.containsKey("K2#1"));
        long k1Completed = keyed.get("K1#2")[1];
        long k2Started = keyed.get("K2#1")[0];
        LOG.info("The delayed messages were all delivered {} ms after they were sent; K2, sent {} ms after K1 failed,"
                 + " started {} ms {} K1 completed on its retry", (drained - delayedSent) / 1_000_000,
                (k2Sent - keyed.get("K1#1")[1]) / 1_000_000, Math.abs(k2Started - k1Completed) / 1_000_000,
                k2Started >= k1Completed ? "after" : "BEFORE");
        assertTrue(k2Started >= k1Completed, "K2 started " + (k1Completed - k2Started) / 1_000_000
                                             + " ms before K1, the earlier message of its key, completed");
    }

    /** Sends that many unkeyed messages and waits until they were delivered. */
    private void traffic(int messages) {
        int from = otherSent.getAndAdd(messages);
        template.sendBody(SEND + "&batch=true",
                IntStream.range(from, from + messages).mapToObj(i -> "other " + i).toList());
        await(Duration.ofSeconds(10)).until(() -> otherDelivered.get() >= from + messages);
    }
}
