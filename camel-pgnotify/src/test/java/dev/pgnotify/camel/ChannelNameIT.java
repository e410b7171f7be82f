package dev.pgnotify.camel;

import org.apache.camel.FailedToCreateRouteException;
import org.apache.camel.ResolveEndpointFailedException;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Channel names PostgreSQL would not use as written are refused before anything reaches the database.
 */
class ChannelNameIT extends PgNotifyITSupport {

    private static final String HOSTILE = "x\"; DROP TABLE channel_it_victim; --";

    @BeforeEach
    void createVictim() throws Exception {
        server().execute("CREATE TABLE IF NOT EXISTS channel_it_victim (id int)");
    }

    @Test
    void hostileNameIsRejectedForAConsumerWithoutRunningAnything() throws Exception {
        long connectionsBefore = ourConnections();
        var e = assertThrows(FailedToCreateRouteException.class, () -> context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:" + HOSTILE + "?mode=notify").to("mock:never");
            }
        }));
        assertRejectedAsInvalidChannel(e, "may only contain");
        assertNothingRan(connectionsBefore);
    }

    @Test
    void hostileNameIsRejectedForAProducerWithoutRunningAnything() throws Exception {
        long connectionsBefore = ourConnections();
        var e = assertThrows(Exception.class, () -> template.sendBody("pgnotify:" + HOSTILE + "?mode=notify", "boom"));
        assertRejectedAsInvalidChannel(e, "may only contain");
        assertNothingRan(connectionsBefore);
    }

    @Test
    void nameOver63BytesIsRejectedWithoutRunningAnything() throws Exception {
        long connectionsBefore = ourConnections();
        var e = assertThrows(FailedToCreateRouteException.class, () -> context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:" + "a".repeat(64) + "?mode=notify").to("mock:never");
            }
        }));
        assertRejectedAsInvalidChannel(e, "at most 63 bytes");
        assertNothingRan(connectionsBefore);
    }

    private static void assertRejectedAsInvalidChannel(Throwable e, String reason) {
        Throwable cause = e;
        while (cause != null && !(cause instanceof ResolveEndpointFailedException)) {
            cause = cause.getCause();
        }
        assertInstanceOf(ResolveEndpointFailedException.class, cause, "endpoint resolution failed");
        PgNotifyInvalidChannelException invalid = assertInstanceOf(PgNotifyInvalidChannelException.class,
                cause.getCause());
        assertTrue(invalid.getMessage().contains(reason), invalid.getMessage());
    }

    private static void assertNothingRan(long connectionsBefore) throws Exception {
        assertEquals(Boolean.TRUE, server().queryValue("SELECT to_regclass('channel_it_victim') IS NOT NULL"));
        assertEquals(connectionsBefore, ourConnections(), "no connection was opened for the rejected endpoint");
    }
}
