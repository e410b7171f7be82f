package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collection;
import java.util.Optional;

import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/**
 * Camel's health checks report a consumer DOWN while it cannot get its LISTEN connection back, and UP again once it
 * has.
 */
class ConsumerHealthIT extends PgNotifyITSupport {

    private static final String PASSWORD = "Health-Pa55";

    @Test
    void consumerIsDownWhileItCannotReconnectAndUpWhenItHas() throws Exception {
        server().createPasswordRole(PASSWORD);
        server().execute("ALTER ROLE " + PgTestServer.PASSWORD_ROLE + " LOGIN");
        try (CamelContext camel = new DefaultCamelContext()) {
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setJdbcUrl(server().jdbcUrl());
            component.getConfiguration().setUsername(PgTestServer.PASSWORD_ROLE);
            component.getConfiguration().setPassword(PASSWORD);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:health_it?mode=notify&reconnectDelay=100&maxReconnectDelay=200").routeId("watched")
                            .to("log:health-it");
                }
            });
            camel.start();
            assertEquals(HealthCheck.State.UP, consumerState(camel));

            // the listener loses its connection and may not log in again
            server().execute("ALTER ROLE " + PgTestServer.PASSWORD_ROLE + " NOLOGIN");
            server().queryValue("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"
                                + ListenerConnections.LISTENER_APPLICATION_NAME + "'");
            // first the lost connection, then the failed reconnects, are reported
            await(Duration.ofSeconds(10)).until(() -> consumerResult(camel).getError().map(Throwable::getMessage)
                    .orElse("").contains("not permitted to log in"));
            HealthCheck.Result down = consumerResult(camel);
            assertEquals(HealthCheck.State.DOWN, down.getState());
            assertTrue(down.getMessage().orElse("").contains("lost its LISTEN connection"), down.getMessage().toString());

            server().execute("ALTER ROLE " + PgTestServer.PASSWORD_ROLE + " LOGIN");
            await(Duration.ofSeconds(10)).until(() -> consumerState(camel) == HealthCheck.State.UP);
        } finally {
            server().execute("ALTER ROLE " + PgTestServer.PASSWORD_ROLE + " LOGIN");
        }
    }

    private static HealthCheck.State consumerState(CamelContext camel) {
        return consumerResult(camel).getState();
    }

    private static HealthCheck.Result consumerResult(CamelContext camel) {
        Collection<HealthCheck.Result> results = HealthCheckHelper.invoke(camel);
        Optional<HealthCheck.Result> consumer = results.stream()
                .filter(r -> r.getCheck().getId().equals("consumer:watched")).findFirst();
        assertTrue(consumer.isPresent(), "the consumer's check is registered: " + results);
        return consumer.get();
    }
}
