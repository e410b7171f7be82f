package dev.pgnotify.camel;

import java.time.Duration;
import java.time.Instant;

import dev.pgnotify.camel.claim.ClaimingConsumer;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Expiry (header CamelPgNotifyExpiresAt, option timeToLive, column expires_at): a message not claimed in time is not
 * delivered but dead-lettered with the reason, or dropped with dropExpired; one in time is delivered as usual.
 */
class QueueExpiryIT extends PgNotifyITSupport {

    private static final String TABLE = "expiry_it_queue";

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:offers?table=" + TABLE).routeId("offers").autoStartup(false).to("mock:offers");
                from("pgnotify:quotes?table=" + TABLE + "&dropExpired=true").routeId("quotes").autoStartup(false)
                        .to("mock:quotes");
            }
        };
    }

    @Test
    void anExpiredMessageIsDeadLetteredWithTheReasonAndALiveOneDelivered() throws Exception {
        template.sendBodyAndHeader("pgnotify:offers?table=" + TABLE, "stale offer", PgNotifyConstants.EXPIRES_AT,
                Instant.now().minusSeconds(1));
        template.sendBody("pgnotify:offers?table=" + TABLE + "&timeToLive=1", "offer good for a millisecond");
        template.sendBody("pgnotify:offers?table=" + TABLE + "&timeToLive=60s", "offer good for a minute");
        template.sendBodyAndHeader("pgnotify:offers?table=" + TABLE, "offer good until tomorrow",
                PgNotifyConstants.EXPIRES_AT, Instant.now().plus(Duration.ofDays(1)).toString());
        await(Duration.ofSeconds(5)).until(() -> count("SELECT count(*) FROM " + TABLE
                                                       + " WHERE expires_at < now()") == 2);

        MockEndpoint offers = getMockEndpoint("mock:offers");
        offers.expectedBodiesReceivedInAnyOrder("offer good for a minute", "offer good until tomorrow");
        context.getRouteController().startRoute("offers");
        offers.setResultWaitTime(10_000);
        offers.assertIsSatisfied();
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dead") == 2);
        assertEquals(2L, count("SELECT count(*) FROM " + TABLE + "_dead WHERE last_error LIKE 'Expired before it was"
                               + " delivered%'"));
        assertEquals(2L, ((ClaimingConsumer) context.getRoute("offers").getConsumer()).getExpiredCount());
    }

    @Test
    void withDropExpiredAnExpiredMessageIsDroppedAndCounted() throws Exception {
        template.sendBodyAndHeader("pgnotify:quotes?table=" + TABLE, "stale quote", PgNotifyConstants.EXPIRES_AT,
                System.currentTimeMillis() - 1000);
        template.sendBody("pgnotify:quotes?table=" + TABLE, "fresh quote");
        MockEndpoint quotes = getMockEndpoint("mock:quotes");
        quotes.expectedBodiesReceived("fresh quote");
        context.getRouteController().startRoute("quotes");
        quotes.setResultWaitTime(10_000);
        quotes.assertIsSatisfied();
        ClaimingConsumer consumer = (ClaimingConsumer) context.getRoute("quotes").getConsumer();
        await(Duration.ofSeconds(10)).until(() -> consumer.getExpiredCount() == 1
                                                  && count("SELECT count(*) FROM " + TABLE
                                                           + " WHERE channel = 'quotes'") == 0);
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE + "_dead WHERE channel = 'quotes'"));
    }

    @Test
    void aBadExpiryIsRefusedWithAClearErrorAndNothingIsSent() throws Exception {
        Exception e = assertThrows(Exception.class, () -> template.sendBodyAndHeader("pgnotify:offers?table=" + TABLE,
                "x", PgNotifyConstants.EXPIRES_AT, "next tuesday"));
        assertTrue(e.getCause().getMessage().contains("CamelPgNotifyExpiresAt must be an instant"),
                e.getCause().getMessage());
        Exception topic = assertThrows(Exception.class, () -> template.sendBodyAndHeader(
                "pgnotify:news?mode=topic&topicTable=expiry_it_topic", "x", PgNotifyConstants.EXPIRES_AT,
                Instant.now().plusSeconds(60)));
        assertTrue(topic.getCause().getMessage().contains("mode=queue only"), topic.getCause().getMessage());
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE + " WHERE body_text = 'x'"));
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
