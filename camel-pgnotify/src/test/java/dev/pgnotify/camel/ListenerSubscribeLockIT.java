package dev.pgnotify.camel;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.pgnotify.camel.test.FreezingProxy;
import org.apache.camel.ConsumerTemplate;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The LISTEN connections of a component, one per database. Opening one may take up to connectTimeout and the probe's
 * wait (the server unreachable, the connection hanging): consumers of other databases must not wait for it to start or
 * stop.
 */
class ListenerSubscribeLockIT extends PgNotifyITSupport {

    private static final String HANGING_TABLE = "subscribe_lock_it_hanging";
    private static final String OTHER_TABLE = "subscribe_lock_it_other";

    private final FreezingProxy proxy = FreezingProxy.inFrontOf(server().jdbcUrl());
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private ConsumerTemplate consumerTemplate;

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        for (String table : new String[] { HANGING_TABLE, OTHER_TABLE }) {
            server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead, " + table + "_dedup CASCADE");
        }
        return new RouteBuilder() {
            @Override
            public void configure() {
                // on the test server directly (the component's jdbcUrl)
                from("pgnotify:started?table=" + OTHER_TABLE).routeId("started").to("mock:started");
                from("pgnotify:stopped?table=" + OTHER_TABLE).routeId("stopped").autoStartup(false).to("mock:stopped");
            }
        };
    }

    @AfterEach
    void cleanUp() throws Exception {
        // the hanging connection fails once the proxy is gone
        proxy.close();
        if (consumerTemplate != null) {
            consumerTemplate.stop();
        }
        executor.shutdownNow();
        executor.awaitTermination(30, TimeUnit.SECONDS);
    }

    /**
     * A consumer on a second database (here: the same server through a proxy) starts while new connections to that
     * database hang: its LISTEN connection blocks in the login, up to statementTimeout. Meanwhile a route on the first
     * database must stop, and another start, within a second or two. Today Listeners.subscribe holds the component's
     * listener lock while it connects and probes, and a consumer's stop and start need that lock: both wait for the
     * hanging connection. The hanging consumer is a polling consumer (a ConsumerTemplate), which Camel starts outside
     * the route controller's lock, as it would an @Consume bean.
     */
    @Test
    void routesOfAnotherDatabaseStartAndStopWhileAListenConnectionHangs() throws Exception {
        String proxied = "pgnotify:hanging?table=" + HANGING_TABLE + "&jdbcUrl=" + proxy.jdbcUrl(server().jdbcUrl());
        // the proxied database's pool and table are ready (the producer keeps them); from now on new connections to it
        // hang
        template.sendBody(proxied, "creates the table");
        proxy.blackholeNewConnections(true);

        consumerTemplate = context.createConsumerTemplate();
        executor.submit(() -> consumerTemplate.receiveBody(proxied, 60_000));
        await(Duration.ofSeconds(10)).until(() -> threadIn("openListenerConnection"));

        Future<?> stop = executor.submit(() -> {
            context.getRouteController().stopRoute("started");
            return null;
        });
        within(stop, "stopping a route of the other database");
        Future<?> start = executor.submit(() -> {
            context.getRouteController().startRoute("stopped");
            return null;
        });
        within(start, "starting a route of the other database");
    }

    private static void within(Future<?> work, String what) throws Exception {
        try {
            work.get(2, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail(what + " took longer than 2 s while a LISTEN connection to another database hangs");
        }
    }

    /** Whether a thread is in a method of this name now. */
    private static boolean threadIn(String method) {
        return Thread.getAllStackTraces().values().stream()
                .anyMatch(stack -> Arrays.stream(stack).anyMatch(frame -> frame.getMethodName().equals(method)));
    }
}
