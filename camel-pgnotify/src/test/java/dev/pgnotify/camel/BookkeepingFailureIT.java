package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.pgnotify.camel.claim.ClaimingConsumer;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * When the route failed and the bookkeeping of the failure (scheduling the retry) fails too, the message is left to its
 * lease, as the consumer's log says: it must be delivered again once the lease runs out, and the consumer must not hold
 * it (nor renew its lease) for as long as it runs.
 */
class BookkeepingFailureIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(BookkeepingFailureIT.class);
    private static final String TABLE = "bookkeeping_it_queue";
    private static final long LEASE_MILLIS = 2000;

    private final List<String> deliveries = new CopyOnWriteArrayList<>();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead, " + TABLE + "_dedup CASCADE",
                "DROP SEQUENCE IF EXISTS bookkeeping_it_failures",
                "DROP FUNCTION IF EXISTS bookkeeping_it_fail_once()");
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from("pgnotify:bookkeeping?table=" + TABLE + "&leaseTime=" + LEASE_MILLIS
                     + "&retryDelay=100&pollInterval=200").routeId("bookkeeping").autoStartup(false)
                        .process(exchange -> {
                            int attempt = exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class);
                            deliveries.add(exchange.getMessage().getBody(String.class) + "#" + attempt);
                            if (attempt == 1) {
                                throw new IllegalStateException("the first delivery fails");
                            }
                        });
            }
        };
    }

    /**
     * The first delivery fails, and the UPDATE that schedules its retry (setting last_error) fails once, forced by a
     * trigger (a sequence makes it fire once: nextval is not rolled back). The message must be delivered again once its
     * lease (2 s) runs out, and the consumer's in-flight count must return to 0. Today the item stays in the consumer's
     * in-flight set, its lease is renewed until the consumer stops, and it is never delivered again.
     */
    @Test
    void aMessageWhoseRetryCouldNotBeScheduledIsDeliveredAgainOnceItsLeaseRunsOut() throws Exception {
        context.getRouteController().startRoute("bookkeeping");
        server().execute("CREATE SEQUENCE bookkeeping_it_failures",
                "CREATE FUNCTION bookkeeping_it_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                + "BEGIN\n"
                + "    IF NEW.last_error IS NOT NULL THEN\n"
                + "        IF nextval('bookkeeping_it_failures') = 1 THEN\n"
                + "            RAISE EXCEPTION 'the retry bookkeeping fails (test trigger)';\n"
                + "        END IF;\n"
                + "    END IF;\n"
                + "    RETURN NEW;\n"
                + "END $$",
                "CREATE TRIGGER bookkeeping_it_fail_once BEFORE UPDATE ON " + TABLE
                + " FOR EACH ROW EXECUTE FUNCTION bookkeeping_it_fail_once()");
        ClaimingConsumer consumer = (ClaimingConsumer) context.getRoute("bookkeeping").getConsumer();

        template.sendBody("pgnotify:bookkeeping?table=" + TABLE, "m");
        await(Duration.ofSeconds(10)).until(() -> deliveries.contains("m#1"));
        // the trigger fired: the retry's UPDATE failed
        await(Duration.ofSeconds(5)).until(
                () -> Boolean.TRUE.equals(server().queryValue("SELECT is_called FROM bookkeeping_it_failures")));
        long failedAt = System.nanoTime();
        try {
            await(Duration.ofMillis(LEASE_MILLIS + 2000)).alias("the message delivered again once its lease ran out")
                    .until(() -> deliveries.contains("m#2"));
            await(Duration.ofSeconds(2)).alias("the consumer holds nothing")
                    .until(() -> consumer.getInFlightCount() == 0);
            await(Duration.ofSeconds(2)).until(() -> ((Number) server().queryValue("SELECT count(*) FROM " + TABLE))
                    .longValue() == 0);
        } finally {
            LOG.info("Deliveries {} ms after the first failed and its retry could not be scheduled: {}; in flight: {}",
                    (System.nanoTime() - failedAt) / 1_000_000, deliveries, consumer.getInFlightCount());
        }
        assertEquals(List.of("m#1", "m#2"), deliveries);
    }
}
