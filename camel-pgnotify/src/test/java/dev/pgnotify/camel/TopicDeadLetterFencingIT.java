package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mode=topic: a consumer whose lease ran out while it processed a batch (a long GC pause, a frozen VM) is a stale
 * holder; the batch was claimed again and the new holder delivers it. What the stale holder does next must be fenced
 * by its attempt, as acknowledgements and renewals are: it must not dead-letter a message the new holder is delivering.
 */
class TopicDeadLetterFencingIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TopicDeadLetterFencingIT.class);
    private static final String TOPIC = "fence_it_topic";
    private static final String OPTIONS = "mode=topic&topicTable=" + TOPIC;

    private final List<String> deliveries = new CopyOnWriteArrayList<>();
    private final CountDownLatch blocked = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch failed = new CountDownLatch(1);

    @BeforeEach
    void dropTopic() throws Exception {
        TopicDeliveryIT.dropTopic(TOPIC);
    }

    @AfterEach
    void releaseRoute() {
        release.countDown();
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from("pgnotify:fenced?" + OPTIONS + "&group=g&maxAttempts=1").routeId("fenced").autoStartup(false)
                        .process(exchange -> {
                            String body = exchange.getMessage().getBody(String.class);
                            deliveries.add(body);
                            if (body.equals("m2")) {
                                blocked.countDown();
                                try {
                                    if (!release.await(30, TimeUnit.SECONDS)) {
                                        throw new IllegalStateException("not released");
                                    }
                                    throw new IllegalStateException("m2 fails (its holder's lease was lost meanwhile)");
                                } finally {
                                    failed.countDown();
                                }
                            }
                        });
            }
        };
    }

    /**
     * A batch m1, m2, m3; the route blocks on m2. Meanwhile the item's attempts go up, as another consumer's claim after
     * the lease was lost makes them (SQL stands in for it). Released, the route fails m2, and with maxAttempts=1 the
     * stale holder would dead-letter it: nothing must be inserted into the dead-letter table, for the new holder delivers
     * m2. Today the dead-lettering INSERT is not fenced (only the DELETE of a single-message item is): the row is there.
     */
    @Test
    void aStaleHolderDoesNotDeadLetterAMessageOfABatchClaimedAgain() throws Exception {
        context.getRouteController().startRoute("fenced");
        template.sendBody("pgnotify:fenced?" + OPTIONS + "&batch=true", List.of("m1", "m2", "m3"));
        assertTrue(blocked.await(10, TimeUnit.SECONDS), "the route reached m2");
        assertEquals(1L, count("SELECT count(*) FROM " + TOPIC + "_items WHERE channel = 'fenced' AND group_name = 'g'"
                               + " AND cardinality(ids) = 3 AND attempts = 1"),
                "m1, m2, m3 are one item, claimed once");

        // another consumer's claim after the lease ran out
        server().execute("UPDATE " + TOPIC + "_items SET attempts = attempts + 1,"
                         + " available_at = now() + interval '1 minute' WHERE channel = 'fenced' AND group_name = 'g'");
        release.countDown();
        assertTrue(failed.await(10, TimeUnit.SECONDS));

        // the stale holder's bookkeeping of m2's failure takes milliseconds; nothing may appear for a while after it
        try {
            await(Duration.ofSeconds(3)).during(Duration.ofSeconds(2))
                    .alias("no dead letter for m2 (its new holder delivers it)").until(
                    () -> count("SELECT count(*) FROM " + TOPIC + "_dead WHERE channel = 'fenced'") == 0);
        } finally {
            LOG.info("Dead letters after a stale holder failed m2: {}; deliveries {}",
                    count("SELECT count(*) FROM " + TOPIC + "_dead WHERE channel = 'fenced'"), deliveries);
        }
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
