package dev.pgnotify.camel;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An idle consumer uses no transaction ids. A claim takes one of its own while a reading of the last id drawn waits to
 * be settled (the claim cursor needs it to settle ids on a quiet server); once the cursor has caught up with the last
 * message, polls that find nothing take none, so an idle consumer does not bring the server's next anti-wraparound
 * vacuum closer, however often it polls.
 */
class IdleConsumerXidIT extends PgNotifyITSupport {

    private static final String TABLE = "idle_xid_queue";

    private final Set<String> received = ConcurrentHashMap.newKeySet();

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:idle?table=" + TABLE + "&pollInterval=100&concurrentConsumers=2").routeId("idle")
                        .process(e -> received.add(e.getMessage().getBody(String.class)));
            }
        };
    }

    @Test
    void pollsThatFindNothingTakeNoTransactionId() throws Exception {
        for (int i = 0; i < 10; i++) {
            template.sendBody("pgnotify:idle?table=" + TABLE, "m" + i);
        }
        await(Duration.ofSeconds(20)).until(() -> received.size() == 10);
        await(Duration.ofSeconds(20)).until(() -> ((Number) server().queryValue("SELECT count(*) FROM " + TABLE))
                .longValue() == 0);
        // the claims after the last acknowledgement settle the last readings (one of them takes an id to do so)
        awaitClaims(TABLE, 10);
        long before = nextXidBound();
        // about 40 polls of two workers
        awaitClaims(TABLE, 40);
        long used = nextXidBound() - before;
        assertTrue(used <= 5, used + " transaction ids ended while the consumer polled an empty channel");
    }

    /**
     * One past the newest transaction that has ended (a snapshot's xmax): asking for it takes no transaction id, and
     * every id a poll took has ended by the next poll.
     */
    private static long nextXidBound() throws Exception {
        return ((Number) server().queryValue("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))
                .longValue();
    }
}
