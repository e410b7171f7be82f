package dev.pgnotify.camel;

import java.time.Duration;

import dev.pgnotify.camel.test.CapturedLogs;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connections and threads: what pgnotify opens it closes, and a failed login says why without the password.
 */
class ConnectionLifecycleIT extends PgNotifyITSupport {

    private static final String ROLE_PASSWORD = "Right-Pa55word";
    private static final String WRONG_PASSWORD = "Wr0ng-Secret-4711";

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:lifecycle_it?mode=notify").routeId("listener").to("mock:received");
            }
        };
    }

    @Test
    void stoppingTheRouteClosesItsConnectionAndStopsItsThread() throws Exception {
        assertEquals(1, ourListenerConnections());
        assertEquals(1, threadsNamed("PgNotifyConsumer[lifecycle_it]"));

        context.getRouteController().stopRoute("listener");

        await(Duration.ofSeconds(5)).until(() -> ourConnections() == 0);
        assertEquals(0, threadsNamed("PgNotifyConsumer[lifecycle_it]"));
    }

    @Test
    void restartedRouteListensAgain() throws Exception {
        context.getRouteController().stopRoute("listener");
        context.getRouteController().startRoute("listener");

        getMockEndpoint("mock:received").expectedBodiesReceived("after restart");
        template.sendBody("pgnotify:lifecycle_it?mode=notify", "after restart");
        getMockEndpoint("mock:received").assertIsSatisfied();
        assertEquals(1, ourListenerConnections());
    }

    @Test
    void stoppingTheContextClosesProducerPoolsToo() throws Exception {
        getMockEndpoint("mock:received").expectedMessageCount(1);
        template.sendBody("pgnotify:lifecycle_it?mode=notify", "via the pool");
        getMockEndpoint("mock:received").assertIsSatisfied();
        assertTrue(ourConnections() > 1, "a listener and pooled connections are open");

        context.stop();

        await(Duration.ofSeconds(5)).until(() -> ourConnections() == 0);
        assertEquals(0, threadsNamed("pgnotify-pool"));
    }

    @Test
    void wrongPasswordGivesAClearErrorWithoutThePassword() throws Exception {
        server().createPasswordRole(ROLE_PASSWORD);
        try (CapturedLogs logs = CapturedLogs.everything()) {
            try (CamelContext camel = contextLoggingInAs(WRONG_PASSWORD)) {
                camel.addRoutes(new RouteBuilder() {
                    @Override
                    public void configure() {
                        from("pgnotify:password_it?mode=notify").to("mock:never");
                    }
                });
                assertClearLoginFailure(assertThrows(Exception.class, camel::start));
            }
            try (CamelContext camel = contextLoggingInAs(WRONG_PASSWORD)) {
                camel.start();
                assertClearLoginFailure(assertThrows(Exception.class,
                        () -> camel.createProducerTemplate().sendBody("pgnotify:password_it?mode=notify", "x")));
            }
            assertFalse(logs.anyContains(WRONG_PASSWORD), "the password appears in the logs");
            assertTrue(logs.anyContains("password authentication failed"), "the failure itself is logged");
        }
    }

    @Test
    void rightPasswordOfThePasswordRoleLogsIn() throws Exception {
        server().createPasswordRole(ROLE_PASSWORD);
        try (CamelContext camel = contextLoggingInAs(ROLE_PASSWORD)) {
            camel.start();
            camel.createProducerTemplate().sendBody("pgnotify:password_it?mode=notify", "logged in");
        }
    }

    private static CamelContext contextLoggingInAs(String password) {
        CamelContext camel = new DefaultCamelContext();
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(server().jdbcUrl());
        component.getConfiguration().setUsername(PgTestServer.PASSWORD_ROLE);
        component.getConfiguration().setPassword(password);
        return camel;
    }

    private static void assertClearLoginFailure(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        boolean connectionException = false;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            messages.append(t).append('\n');
            connectionException |= t instanceof PgNotifyConnectionException;
        }
        String text = messages.toString();
        assertTrue(connectionException, text);
        assertTrue(text.contains("Cannot connect to PostgreSQL at " + server().jdbcUrl()), text);
        assertTrue(text.contains("password authentication failed for user \"" + PgTestServer.PASSWORD_ROLE + "\""),
                text);
        assertFalse(text.contains(WRONG_PASSWORD), text);
    }
}
