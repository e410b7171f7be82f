package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The LISTEN connection is killed by the server: the consumer reconnects, LISTENs again and goes on receiving.
 */
class ListenerReconnectIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(ListenerReconnectIT.class);

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:reconnect_it?mode=notify&reconnectDelay=100&maxReconnectDelay=2000")
                        .choice()
                        .when(body().startsWith("probe")).to("mock:probe")
                        .otherwise().to("mock:after");
            }
        };
    }

    @Test
    void listensAgainWithinSecondsAfterItsBackendIsTerminated() throws Exception {
        Integer killedPid = listenerBackendPid();
        assertNotNull(killedPid, "the consumer is listening");

        long killedAt = System.nanoTime();
        assertEquals(Boolean.TRUE, server().queryValue("SELECT pg_terminate_backend(" + killedPid + ")"));

        // notifications sent before the new LISTEN are lost (mode=notify); keep probing until one arrives
        MockEndpoint probes = getMockEndpoint("mock:probe");
        await(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> {
            server().execute("NOTIFY reconnect_it, 'probe'");
            return probes.getReceivedCounter() > 0;
        });
        long reconnectMillis = (System.nanoTime() - killedAt) / 1_000_000;
        LOG.info("Listening again {} ms after pg_terminate_backend", reconnectMillis);
        assertNotEquals(killedPid, listenerBackendPid(), "a new backend serves the LISTEN");

        List<String> after = IntStream.range(0, 50).mapToObj(i -> "after-" + i).toList();
        MockEndpoint afterMock = getMockEndpoint("mock:after");
        afterMock.expectedBodiesReceived(after);
        after.forEach(body -> template.sendBody("pgnotify:reconnect_it?mode=notify", body));
        afterMock.assertIsSatisfied();
        assertEquals(1, ourListenerConnections(), "the lost connection was not left behind");
    }
}
