package dev.pgnotify.camel;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * One LISTEN connection per application and database: twenty consumer routes of both modes share it, each still
 * gets what is meant for it, a lost connection is reopened for all of them, and the last route to stop closes it.
 */
class SharedListenerIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(SharedListenerIT.class);
    private static final int ROUTES_PER_MODE = 10;
    private static final String TABLE = "shared_it_queue";

    private final Set<String> received = ConcurrentHashMap.newKeySet();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        return new RouteBuilder() {
            @Override
            public void configure() {
                for (int i = 0; i < ROUTES_PER_MODE; i++) {
                    from("pgnotify:shared_q" + i + "?table=" + TABLE).routeId("queue" + i)
                            .process(e -> received.add("queue:" + e.getMessage().getBody(String.class)));
                    from("pgnotify:shared_n" + i + "?mode=notify").routeId("notify" + i)
                            .process(e -> received.add("notify:" + e.getMessage().getBody(String.class)));
                }
            }
        };
    }

    @Test
    void twentyConsumerRoutesShareOneListenConnection() throws Exception {
        assertEquals(1, ourListenerConnections(), "one LISTEN connection for 20 consumer routes");
        sendToEveryRoute("first");
        await(Duration.ofSeconds(10)).until(() -> received.size() == 2 * ROUTES_PER_MODE);

        // the shared connection is lost: every consumer gets it back, LISTENs included
        Integer killed = listenerBackendPid();
        assertNotNull(killed);
        server().queryValue("SELECT pg_terminate_backend(" + killed + ")");
        await(Duration.ofSeconds(10)).until(() -> {
            Integer now = listenerBackendPid();
            return now != null && !now.equals(killed);
        });
        await(Duration.ofSeconds(10)).until(() -> {
            sendToEveryRoute("again");
            return received.stream().filter(r -> r.contains(":again")).count() == 2 * ROUTES_PER_MODE;
        });
        assertNotEquals(killed, listenerBackendPid());
        assertEquals(1, ourListenerConnections(), "still one, and the lost one is gone");
        LOG.info("20 consumer routes on one LISTEN connection; after it was killed all 20 received again");

        for (int i = 0; i < ROUTES_PER_MODE; i++) {
            context.getRouteController().stopRoute("queue" + i);
            context.getRouteController().stopRoute("notify" + i);
        }
        await(Duration.ofSeconds(10)).until(() -> ourListenerConnections() == 0);
        assertEquals(0, threadsNamed("PgNotifyListener"));
        context.getRouteController().startRoute("notify0");
        assertEquals(1, ourListenerConnections());
        template.sendBody("pgnotify:shared_n0?mode=notify", "restarted");
        await(Duration.ofSeconds(10)).until(() -> received.contains("notify:restarted"));
    }

    private void sendToEveryRoute(String body) {
        for (int i = 0; i < ROUTES_PER_MODE; i++) {
            template.sendBody("pgnotify:shared_q" + i + "?table=" + TABLE, body + i);
            template.sendBody("pgnotify:shared_n" + i + "?mode=notify", body + i);
        }
    }
}
