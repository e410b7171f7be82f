package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import dev.pgnotify.camel.listen.ListenSql;
import dev.pgnotify.camel.notify.NotifyProducer;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

/**
 * mode=notify against a real PostgreSQL: whatever sends the NOTIFY, every consumer of the channel gets it.
 */
class NotifyModeIT extends PgNotifyITSupport {

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:psql_style?mode=notify").to("mock:psql");
                from("pgnotify:function_style?mode=notify").to("mock:function");
                from("pgnotify:trigger_style?mode=notify").to("mock:trigger");
                from("pgnotify:fanout?mode=notify").to("mock:first");
                from("pgnotify:fanout?mode=notify").to("mock:second");
                from("pgnotify:ordered?mode=notify").to("mock:ordered");
                from("pgnotify:MixedCase?mode=notify").to("mock:mixed");
                from("pgnotify:sized?mode=notify").to("mock:sized");
                from("pgnotify:erring?mode=notify").process(exchange -> {
                    if ("error".equals(exchange.getMessage().getBody(String.class))) {
                        throw new StackOverflowError("thrown by the route");
                    }
                }).to("mock:erring");
            }
        };
    }

    @Test
    void psqlNotifyCommandReachesTheConsumer() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:psql");
        mock.expectedBodiesReceived("hello from psql");
        mock.expectedHeaderReceived(PgNotifyConstants.CHANNEL, "psql_style");

        server().execute("NOTIFY psql_style, 'hello from psql'");

        mock.assertIsSatisfied();
    }

    @Test
    void pgNotifyReachesTheConsumerWithTheSendersProcessId() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:function");
        mock.expectedBodiesReceived("{\"id\": 1}");
        int senderPid;
        try (Connection connection = server().connect(); Statement statement = connection.createStatement()) {
            try (ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                senderPid = rs.getInt(1);
            }
            statement.execute("SELECT pg_notify('function_style', '{\"id\": 1}')");
        }
        mock.expectedHeaderReceived(PgNotifyConstants.PROCESS_ID, senderPid);

        mock.assertIsSatisfied();
    }

    @Test
    void tutorialTriggerReachesTheConsumer() throws Exception {
        server().execute(
                "DROP TABLE IF EXISTS notify_it_tutorial",
                "CREATE TABLE notify_it_tutorial (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                                                   + " message jsonb NOT NULL, created_at timestamptz DEFAULT now())",
                "CREATE OR REPLACE FUNCTION notify_it_tutorial_notify() RETURNS trigger AS $$ BEGIN"
                                                   + " PERFORM pg_notify('trigger_style', row_to_json(NEW)::text);"
                                                   + " RETURN NEW; END; $$ LANGUAGE plpgsql",
                "CREATE TRIGGER notify_it_tutorial_trigger AFTER INSERT ON notify_it_tutorial"
                                                   + " FOR EACH ROW EXECUTE FUNCTION notify_it_tutorial_notify()");
        MockEndpoint mock = getMockEndpoint("mock:trigger");
        mock.expectedMessageCount(1);

        server().execute("INSERT INTO notify_it_tutorial (message) VALUES ('{\"message\": \"message number 1\"}')");

        mock.assertIsSatisfied();
        String payload = mock.getReceivedExchanges().get(0).getMessage().getBody(String.class);
        assertTrue(payload.contains("\"message\":{\"message\": \"message number 1\"}"), payload);
        assertTrue(payload.contains("\"id\":") && payload.contains("\"created_at\":"), payload);
    }

    @Test
    void everyConsumerOfTheChannelReceivesEveryMessage() throws Exception {
        List<String> bodies = IntStream.range(0, 100).mapToObj(i -> "m" + i).toList();
        getMockEndpoint("mock:first").expectedBodiesReceived(bodies);
        getMockEndpoint("mock:second").expectedBodiesReceived(bodies);

        bodies.forEach(body -> template.sendBody("pgnotify:fanout?mode=notify", body));

        MockEndpoint.assertIsSatisfied(context);
    }

    @Test
    void thousandMessagesArriveInOrderNoneLost() throws Exception {
        List<String> bodies = IntStream.range(0, 1000).mapToObj(i -> "message-" + i).toList();
        MockEndpoint mock = getMockEndpoint("mock:ordered");
        mock.expectedBodiesReceived(bodies);
        mock.setResultWaitTime(30_000);

        bodies.forEach(body -> template.sendBody("pgnotify:ordered?mode=notify", body));

        mock.assertIsSatisfied();
    }

    @Test
    void mixedCaseChannelIsListenedToAsWritten() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:mixed");
        // had LISTEN folded the name to lower case, "lowercase" would arrive first
        mock.expectedBodiesReceived("pg_notify", "NOTIFY", "producer");

        try (Connection connection = server().connect(); Statement statement = connection.createStatement()) {
            statement.execute("SELECT pg_notify('mixedcase', 'lowercase')");
            statement.execute("SELECT pg_notify('MixedCase', 'pg_notify')");
            statement.execute("NOTIFY \"MixedCase\", 'NOTIFY'");
        }
        template.sendBody("pgnotify:MixedCase?mode=notify", "producer");

        mock.assertIsSatisfied();
    }

    @Test
    void bodyOverTheNotifyLimitFailsClearlyAndIsNotSent() throws Exception {
        String largest = "x".repeat(NotifyProducer.MAX_PAYLOAD_BYTES);
        MockEndpoint mock = getMockEndpoint("mock:sized");
        mock.expectedBodiesReceived(largest, "after");

        template.sendBody("pgnotify:sized?mode=notify", largest);
        var tooLarge = assertThrows(CamelExecutionException.class,
                () -> template.sendBody("pgnotify:sized?mode=notify", "x".repeat(8000)));
        // 4000 two-byte characters: within 7999 characters, but 8000 bytes
        var tooLargeInBytes = assertThrows(CamelExecutionException.class,
                () -> template.sendBody("pgnotify:sized?mode=notify", "é".repeat(4000)));
        template.sendBody("pgnotify:sized?mode=notify", "after");

        mock.assertIsSatisfied();
        for (CamelExecutionException e : List.of(tooLarge, tooLargeInBytes)) {
            PgNotifyPayloadTooLargeException cause = assertInstanceOf(PgNotifyPayloadTooLargeException.class,
                    e.getCause());
            assertEquals(8000, cause.getSize());
            assertEquals(7999, cause.getLimit());
            assertTrue(cause.getMessage().contains("8000 bytes"), cause.getMessage());
            assertTrue(cause.getMessage().contains("7999 bytes"), cause.getMessage());
            assertTrue(cause.getMessage().contains("mode=queue"), cause.getMessage());
        }
    }

    @Test
    void listenerOutlivesARouteThatThrowsAnError() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:erring");
        mock.expectedBodiesReceived("after");

        template.sendBody("pgnotify:erring?mode=notify", "error");
        template.sendBody("pgnotify:erring?mode=notify", "after");

        mock.assertIsSatisfied();
    }

    @Test
    void hostileNameCannotEscapeItsQuotes() throws Exception {
        // validation rejects such names, but the quoting alone must already make them harmless
        String hostile = "x\"; DROP TABLE notify_it_victim; --";
        server().execute("CREATE TABLE IF NOT EXISTS notify_it_victim (id int)");
        try (Connection connection = server().connect(); Statement statement = connection.createStatement()) {
            statement.execute(ListenSql.listen(hostile));
            try (PreparedStatement listening = connection.prepareStatement(
                    "SELECT count(*) FROM pg_listening_channels() c WHERE c = ?")) {
                listening.setString(1, hostile);
                try (ResultSet rs = listening.executeQuery()) {
                    rs.next();
                    assertEquals(1, rs.getInt(1), "LISTEN used the whole name as one channel");
                }
            }
        }
        assertEquals(Boolean.TRUE, server().queryValue("SELECT to_regclass('notify_it_victim') IS NOT NULL"));
    }

    @Test
    void producerSendsExactlyTheBodyGiven() throws Exception {
        List<String> bodies = new ArrayList<>(List.of("", "plain", "{\"json\": [1, 2]}", "ünïcödé ✓", "a'b\"c\\d"));
        MockEndpoint mock = getMockEndpoint("mock:function");
        mock.expectedBodiesReceived(bodies);

        bodies.forEach(body -> template.sendBody("pgnotify:function_style?mode=notify", body));

        mock.assertIsSatisfied();
    }
}
