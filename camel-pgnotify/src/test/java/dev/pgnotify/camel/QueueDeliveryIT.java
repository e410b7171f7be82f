package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * mode=queue, in one JVM: what is sent is delivered, whenever the consumer runs, in order, once.
 */
class QueueDeliveryIT extends PgNotifyITSupport {

    private static final String TABLE = "delivery_it_queue";

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:backlog?table=" + TABLE).routeId("backlog").autoStartup(false).to("mock:backlog");
                from("pgnotify:ordered?table=" + TABLE).routeId("ordered").autoStartup(false).to("mock:ordered");
                from("pgnotify:from_sql?table=" + TABLE).to("mock:from_sql");
                from("pgnotify:batched?table=" + TABLE).routeId("batched").autoStartup(false).to("mock:batched");
                from("pgnotify:headers?table=" + TABLE).to("mock:headers");
                from("pgnotify:typed?table=" + TABLE).to("mock:typed");
            }
        };
    }

    @Test
    void tenThousandMessagesSentWhileNoConsumerRunsAreAllDeliveredWhenItStarts() throws Exception {
        List<String> bodies = IntStream.range(0, 10_000).mapToObj(i -> "backlog-" + i).toList();
        for (int from = 0; from < bodies.size(); from += 500) {
            template.sendBody("pgnotify:backlog?table=" + TABLE + "&batch=true", bodies.subList(from, from + 500));
        }
        assertEquals(10_000L, count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'backlog'"));

        MockEndpoint mock = getMockEndpoint("mock:backlog");
        mock.expectedMessageCount(10_000);
        mock.setResultWaitTime(60_000);
        context.getRouteController().startRoute("backlog");
        mock.assertIsSatisfied();

        Set<String> received = mock.getReceivedExchanges().stream()
                .map(e -> e.getMessage().getBody(String.class)).collect(Collectors.toSet());
        assertEquals(new HashSet<>(bodies), received, "every message, none twice");
        await(java.time.Duration.ofSeconds(10))
                .until(() -> count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'backlog'") == 0);
    }

    @Test
    void oneConsumerThreadDeliversInInsertOrder() throws Exception {
        List<String> bodies = IntStream.range(0, 1000).mapToObj(i -> "ordered-" + i).toList();
        bodies.forEach(body -> template.sendBody("pgnotify:ordered?table=" + TABLE, body));
        MockEndpoint mock = getMockEndpoint("mock:ordered");
        mock.expectedBodiesReceived(bodies);
        mock.setResultWaitTime(30_000);

        context.getRouteController().startRoute("ordered");

        mock.assertIsSatisfied();
    }

    @Test
    void rowsInsertedWithPlainSqlAreDeliveredLikeCamelsOwn() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:from_sql");
        mock.expectedBodiesReceived("{\"order\": 42}", "plain text", "binary");
        server().execute(
                "INSERT INTO " + TABLE + " (channel, body_json, headers) VALUES ('from_sql', '{\"order\": 42}',"
                         + " '{\"source\": \"psql\"}')",
                "INSERT INTO " + TABLE + " (channel, body_text) VALUES ('from_sql', 'plain text')",
                "INSERT INTO " + TABLE + " (channel, body_bytes) VALUES ('from_sql', convert_to('binary', 'UTF8'))");

        mock.assertIsSatisfied();
        Exchange first = mock.getReceivedExchanges().get(0);
        assertEquals("psql", first.getMessage().getHeader("source"));
        assertNotNull(first.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID));
        assertInstanceOf(byte[].class, mock.getReceivedExchanges().get(2).getMessage().getBody());
    }

    @Test
    void rolledBackInsertIsNeverDeliveredCommittedOutboxRowIs() throws Exception {
        server().execute("CREATE TABLE IF NOT EXISTS delivery_it_orders (id int PRIMARY KEY)",
                "TRUNCATE delivery_it_orders");
        MockEndpoint mock = getMockEndpoint("mock:from_sql");
        mock.expectedBodiesReceived("{\"order\": 2}");
        try (Connection connection = server().connect()) {
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                // the outbox pattern: the business row and the message in one transaction
                statement.execute("INSERT INTO delivery_it_orders VALUES (1)");
                statement.execute("INSERT INTO " + TABLE + " (channel, body_json) VALUES ('from_sql', '{\"order\": 1}')");
                connection.rollback();
                statement.execute("INSERT INTO delivery_it_orders VALUES (2)");
                statement.execute("INSERT INTO " + TABLE + " (channel, body_json) VALUES ('from_sql', '{\"order\": 2}')");
                connection.commit();
            }
        }
        // the rolled-back message had the smaller id: had it been delivered, it would have come first
        mock.assertIsSatisfied();
    }

    @Test
    void batchInsertsEveryElementAsItsOwnMessageInOneTransaction() throws Exception {
        List<String> bodies = IntStream.range(0, 100).mapToObj(i -> "batched-" + i).toList();
        Exchange sent = template.send("pgnotify:batched?table=" + TABLE + "&batch=true",
                exchange -> exchange.getMessage().setBody(bodies));

        @SuppressWarnings("unchecked")
        List<Long> ids = sent.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, List.class);
        assertEquals(100, ids.size());
        assertEquals(ids.stream().sorted().toList(), ids, "ids in the list's order");
        assertEquals(1L, count("SELECT count(DISTINCT xmin::text) FROM " + TABLE + " WHERE channel = 'batched'"),
                "one transaction");

        MockEndpoint mock = getMockEndpoint("mock:batched");
        mock.expectedBodiesReceived(bodies);
        context.getRouteController().startRoute("batched");
        mock.assertIsSatisfied();
        assertEquals(ids, mock.getReceivedExchanges().stream()
                .map(e -> e.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class)).toList());
    }

    @Test
    void headersTravelWithTheirTypesCamelsOwnStayBehind() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:headers");
        mock.expectedMessageCount(1);
        Instant before = Instant.now().minusSeconds(5);
        Exchange sent = template.send("pgnotify:headers?table=" + TABLE, exchange -> {
            exchange.getMessage().setBody("with headers");
            exchange.getMessage().setHeaders(new java.util.HashMap<>(Map.of(
                    "text", "value", "count", 42, "big", 1L << 40, "flag", true,
                    "price", new java.math.BigDecimal("19.99"), "CamelHttpUri", "http://elsewhere",
                    Exchange.FILE_NAME, "reports/2026.csv")));
        });
        mock.assertIsSatisfied();

        var received = mock.getReceivedExchanges().get(0).getMessage();
        assertEquals("value", received.getHeader("text"));
        assertEquals(42, received.getHeader("count"));
        assertEquals(1L << 40, received.getHeader("big"));
        assertEquals(true, received.getHeader("flag"));
        assertEquals(new java.math.BigDecimal("19.99"), received.getHeader("price"));
        assertEquals(null, received.getHeader("CamelHttpUri"), "Camel's own headers do not travel");
        assertEquals("reports/2026.csv", received.getHeader(Exchange.FILE_NAME), "but a file keeps its name");
        assertEquals(sent.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID),
                received.getHeader(PgNotifyConstants.MESSAGE_ID));
        assertEquals("headers", received.getHeader(PgNotifyConstants.CHANNEL));
        assertEquals(1, received.getHeader(PgNotifyConstants.ATTEMPT));
        Instant createdAt = received.getHeader(PgNotifyConstants.CREATED_AT, Instant.class);
        assertTrue(createdAt.isAfter(before) && createdAt.isBefore(Instant.now().plusSeconds(5)), createdAt.toString());
        assertEquals(String.valueOf(received.getHeader(PgNotifyConstants.MESSAGE_ID)), received.getMessageId(),
                "Camel's message id is the queue's, for idempotentConsumer");
        assertEquals(createdAt.toEpochMilli(), received.getMessageTimestamp(), "its timestamp the creation time");
    }

    @Test
    void bodiesKeepTheirKind() throws Exception {
        byte[] binary = { 0, 1, 2, (byte) 0xff, 0, 42 };
        String withNul = "nul\u0000inside";
        MockEndpoint mock = getMockEndpoint("mock:typed");
        mock.expectedMessageCount(5);
        template.sendBody("pgnotify:typed?table=" + TABLE, "  {\"compact\":true,\"n\":[1,2]}");
        template.sendBody("pgnotify:typed?table=" + TABLE, "{not json");
        template.sendBody("pgnotify:typed?table=" + TABLE, binary);
        template.sendBody("pgnotify:typed?table=" + TABLE, withNul);
        template.sendBody("pgnotify:typed?table=" + TABLE, null);
        mock.assertIsSatisfied();

        List<Object> received = new ArrayList<>();
        mock.getReceivedExchanges().forEach(e -> received.add(e.getMessage().getBody()));
        assertEquals("{\"n\": [1, 2], \"compact\": true}", received.get(0), "JSON as jsonb gives it back");
        assertEquals("{not json", received.get(1));
        assertTrue(java.util.Arrays.equals(binary, (byte[]) received.get(2)));
        assertEquals(withNul, mock.getReceivedExchanges().get(3).getMessage().getBody(String.class));
        assertEquals(null, received.get(4));
    }

    private static long count(String sql) throws Exception {
        try (Connection connection = server().connect(); PreparedStatement statement = connection.prepareStatement(sql);
             ResultSet rs = statement.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
