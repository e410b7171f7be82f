package dev.pgnotify.camel;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.console.DevConsole;
import org.apache.camel.spi.BrowsableEndpoint;
import org.apache.camel.support.PluginHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What Camel's browse tools show of a channel: a queue's waiting messages, oldest first, decoded as the consumer
 * receives them and never more than browseLimit however deep the queue; its dead letters through the browse=deadLetters
 * endpoint a consumer adds to the context; what a topic group has not processed; and the browse dev console's text.
 */
class BrowseIT extends PgNotifyITSupport {

    private static final String TABLE = "browse_it_queue";
    private static final String TOPIC = "browse_it_topic";
    private static final String WAITING = "pgnotify:browse-waiting?table=" + TABLE + "&browseLimit=3";
    private static final String POISON = "pgnotify:browse-poison?table=" + TABLE + "&maxAttempts=1";
    private static final String GROUP = "pgnotify:browse-topic?mode=topic&topicTable=" + TOPIC + "&group=billing";

    private final CountDownLatch topicBlocked = new CountDownLatch(1);
    private final CountDownLatch releaseTopic = new CountDownLatch(1);

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        server().execute("DROP TABLE IF EXISTS " + TOPIC + ", " + TOPIC + "_state, " + TOPIC + "_groups, " + TOPIC
                         + "_cuts, " + TOPIC + "_items, " + TOPIC + "_dead CASCADE");
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(POISON).routeId("browse-poison").throwException(new IllegalStateException("poison pill"));
                from(GROUP).routeId("browse-topic").process(exchange -> {
                    topicBlocked.countDown();
                    releaseTopic.await(30, TimeUnit.SECONDS);
                });
            }
        };
    }

    @AfterEach
    void releaseTopicRoute() {
        releaseTopic.countDown();
    }

    @Test
    void aQueueShowsItsOldestWaitingMessagesDecodedAndBounded() throws Exception {
        template.sendBodyAndHeader(WAITING, "{\"order\": 1}", "customer", "ada");
        template.sendBodyAndHeader(WAITING, "plain text", "amount", 42);
        template.sendBody(WAITING, new byte[] { 0, 1, 2 });
        // a deep queue behind them: 5,000 rows the browse must not read
        server().execute("INSERT INTO " + TABLE + " (channel, body_text) SELECT 'browse-waiting', 'deep ' || i"
                         + " FROM generate_series(1, 5000) i");

        BrowsableEndpoint endpoint = context.getEndpoint(WAITING, BrowsableEndpoint.class);
        List<Exchange> shown = endpoint.getExchanges();
        assertEquals(3, shown.size(), "browseLimit bounds the browse");
        assertEquals("{\"order\": 1}", shown.get(0).getMessage().getBody(String.class), "jsonb's text, as consumed");
        assertEquals("ada", shown.get(0).getMessage().getHeader("customer"));
        assertEquals("browse-waiting", shown.get(0).getMessage().getHeader(PgNotifyConstants.CHANNEL));
        assertEquals("plain text", shown.get(1).getMessage().getBody());
        assertEquals(42, shown.get(1).getMessage().getHeader("amount"));
        assertArrayEquals(new byte[] { 0, 1, 2 }, (byte[]) shown.get(2).getMessage().getBody());
        assertTrue(shown.get(0).getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class)
                   < shown.get(1).getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class), "oldest first");
        assertEquals(3, endpoint.getExchanges(Integer.MAX_VALUE, null).size(), "a tool asking for all gets the bound");
        assertEquals(1, endpoint.getExchanges(1, null).size());
        assertEquals(3, endpoint.getBrowseStatus(Integer.MAX_VALUE).size());

        // the browse dev console, as camel browse and the Spring Boot actuator call it
        DevConsole browse = PluginHelper.getDevConsoleResolver(context).resolveDevConsole("browse");
        assertNotNull(browse, "camel-console's browse console");
        String text = (String) browse.call(DevConsole.MediaType.TEXT, Map.of("filter", "pgnotify://browse-waiting*"));
        assertTrue(text.contains("Browse: pgnotify://browse-waiting") && text.contains("size: 3"), text);
        assertTrue(text.contains("order") && text.contains("plain text") && text.contains("\"value\": \"ada\""), text);
        assertTrue(!text.contains("deep 1"), "nothing beyond the bound: " + text);
    }

    @Test
    void aConsumersDeadLettersAreBrowsableThroughTheirOwnEndpoint() throws Exception {
        template.sendBodyAndHeader(POISON, "bad order", "customer", "bob");
        await(Duration.ofSeconds(10)).until(() -> deadLetters().size() == 1);

        Exchange dead = deadLetters().get(0);
        assertEquals("bad order", dead.getMessage().getBody(String.class));
        assertEquals("bob", dead.getMessage().getHeader("customer"));
        assertEquals(1, dead.getMessage().getHeader(PgNotifyConstants.ATTEMPT));
        assertTrue(dead.getMessage().getHeader(PgNotifyConstants.LAST_ERROR, String.class).contains("poison pill"));
        assertTrue(context.getEndpoint(POISON, BrowsableEndpoint.class).getExchanges().isEmpty(), "none waiting");
    }

    @Test
    void aTopicGroupShowsWhatItHasNotProcessedInOrder() throws Exception {
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TOPIC + "_groups") == 1);
        for (int i = 0; i < 4; i++) {
            template.sendBody(GROUP, "event " + i);
        }
        assertTrue(topicBlocked.await(10, TimeUnit.SECONDS));
        // the first is in flight (not processed yet), the rest wait in its item or in the log
        BrowsableEndpoint endpoint = context.getEndpoint(GROUP, BrowsableEndpoint.class);
        List<String> bodies = endpoint.getExchanges().stream().map(e -> e.getMessage().getBody(String.class))
                .toList();
        assertEquals(List.of("event 0", "event 1", "event 2", "event 3"), bodies);
        assertEquals("billing", endpoint.getExchanges().get(0).getMessage().getHeader(PgNotifyConstants.GROUP));
    }

    private List<Exchange> deadLetters() {
        return context.getEndpoints().stream()
                .filter(e -> e.getEndpointUri().startsWith("pgnotify://browse-poison")
                             && e.getEndpointUri().contains("browse=deadLetters"))
                .map(BrowsableEndpoint.class::cast).findFirst().orElseThrow().getExchanges();
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
