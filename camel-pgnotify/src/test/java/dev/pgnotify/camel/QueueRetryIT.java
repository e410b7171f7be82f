package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failing exchanges: retried with a growing delay, then dead-lettered with their error, never holding up the
 * messages behind them; long exchanges keep their claim.
 */
class QueueRetryIT extends PgNotifyITSupport {

    private static final String TABLE = "retry_it_queue";

    private final List<Long> poisonDeliveries = new CopyOnWriteArrayList<>();
    private final List<Integer> poisonAttempts = new CopyOnWriteArrayList<>();
    private volatile long firstGoodProcessedAt;
    private final CountDownLatch releaseLongExchange = new CountDownLatch(1);
    private final Map<String, Integer> deliveries = new ConcurrentHashMap<>();

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:poison?table=" + TABLE + "&maxAttempts=4&retryDelay=200&retryMultiplier=2")
                        .routeId("poison").autoStartup(false)
                        .process(exchange -> {
                            if ("poison".equals(exchange.getMessage().getBody(String.class))) {
                                poisonDeliveries.add(System.nanoTime());
                                poisonAttempts.add(exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class));
                                throw new IllegalStateException("poison pill #" + poisonDeliveries.size());
                            }
                            if (firstGoodProcessedAt == 0) {
                                firstGoodProcessedAt = System.nanoTime();
                            }
                        })
                        .to("mock:good");

                from("pgnotify:handled?table=" + TABLE + "&maxAttempts=2")
                        .errorHandler(deadLetterChannel("mock:camel-dead-letter"))
                        .process(exchange -> {
                            throw new IllegalStateException("handled by Camel's own dead letter channel");
                        });

                from("pgnotify:crashed?table=" + TABLE + "&maxAttempts=3").to("mock:crashed");

                from("pgnotify:long?table=" + TABLE + "&leaseTime=500&pollInterval=50&concurrentConsumers=3")
                        .process(exchange -> {
                            deliveries.merge(exchange.getMessage().getBody(String.class), 1, Integer::sum);
                            assertTrue(releaseLongExchange.await(30, TimeUnit.SECONDS));
                        })
                        .to("mock:long");
            }
        };
    }

    @Test
    void poisonMessageIsRetriedWithGrowingDelayThenDeadLetteredWhileTheRestFlows() throws Exception {
        template.sendBody("pgnotify:poison?table=" + TABLE, "poison");
        List<String> good = IntStream.range(0, 1000).mapToObj(i -> "good-" + i).toList();
        for (int from = 0; from < good.size(); from += 100) {
            template.sendBody("pgnotify:poison?table=" + TABLE + "&batch=true", good.subList(from, from + 100));
        }
        MockEndpoint mock = getMockEndpoint("mock:good");
        mock.expectedBodiesReceived(good);
        mock.setResultWaitTime(30_000);

        context.getRouteController().startRoute("poison");

        mock.assertIsSatisfied();
        await(Duration.ofSeconds(20)).until(() -> deadLetters("poison") == 1);
        assertEquals(List.of(1, 2, 3, 4), poisonAttempts, "delivered maxAttempts times");
        long[] expectedDelays = { 200, 400, 800 };
        for (int i = 0; i < expectedDelays.length; i++) {
            long gap = TimeUnit.NANOSECONDS.toMillis(poisonDeliveries.get(i + 1) - poisonDeliveries.get(i));
            assertTrue(gap >= expectedDelays[i], "delivery " + (i + 2) + " came " + gap + " ms after the previous one");
        }
        assertTrue(firstGoodProcessedAt < poisonDeliveries.get(1), "the good messages did not wait for the poison");
        try (Connection connection = server().connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT body_text, attempts, last_error FROM " + TABLE + "_dead"
                                                   + " WHERE channel = 'poison'")) {
            assertTrue(rs.next());
            assertEquals("poison", rs.getString(1));
            assertEquals(4, rs.getInt(2));
            assertTrue(rs.getString(3).contains("IllegalStateException: poison pill #4"), rs.getString(3));
        }
        assertEquals(0L, ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE + " WHERE channel = 'poison'")).longValue(), "the queue is empty");
    }

    @Test
    void exchangeHandledByCamelsErrorHandlerIsAcknowledged() throws Exception {
        MockEndpoint camelDeadLetter = getMockEndpoint("mock:camel-dead-letter");
        camelDeadLetter.expectedBodiesReceived("handled");

        template.sendBody("pgnotify:handled?table=" + TABLE, "handled");

        camelDeadLetter.assertIsSatisfied();
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE + " WHERE channel = 'handled'")).longValue() == 0);
        assertEquals(0, deadLetters("handled"), "handled is success: no retry, no dead letter");
        camelDeadLetter.assertIsSatisfied();
    }

    @Test
    void longRunningExchangeKeepsItsClaim() throws Exception {
        MockEndpoint mock = getMockEndpoint("mock:long");
        mock.expectedBodiesReceived("long");
        template.sendBody("pgnotify:long?table=" + TABLE, "long");

        // the lease is 500 ms: wait until it has been renewed several times while the exchange runs
        await(Duration.ofSeconds(10)).until(() -> deliveries.containsKey("long"));
        Object firstLease = server().queryValue("SELECT available_at FROM " + TABLE + " WHERE channel = 'long'");
        await(Duration.ofSeconds(10)).until(() -> {
            Object lease = server().queryValue(
                    "SELECT available_at - now() > interval '0' AND available_at > '" + firstLease + "'::timestamptz"
                                               + " + interval '1 second' FROM " + TABLE + " WHERE channel = 'long'");
            return Boolean.TRUE.equals(lease);
        });
        releaseLongExchange.countDown();

        mock.assertIsSatisfied();
        assertEquals(1, deliveries.get("long"), "no other consumer thread took it over");
        assertEquals(1, mock.getReceivedExchanges().get(0).getMessage().getHeader(PgNotifyConstants.ATTEMPT));
    }

    @Test
    void messageWhoseDeliveriesNeverCompletedIsDeadLetteredWithoutBeingDeliveredAgain() throws Exception {
        // three earlier deliveries claimed it and never completed (say, the body made the consumer run out of memory)
        server().execute("INSERT INTO " + TABLE + " (channel, body_text, attempts) VALUES ('crashed', 'killer', 3)");
        MockEndpoint mock = getMockEndpoint("mock:crashed");
        mock.expectedBodiesReceived("after");
        template.sendBody("pgnotify:crashed?table=" + TABLE, "after");

        mock.assertIsSatisfied();
        await(Duration.ofSeconds(10)).until(() -> deadLetters("crashed") == 1);
        try (Connection connection = server().connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT body_text, attempts, last_error FROM " + TABLE + "_dead"
                                                   + " WHERE channel = 'crashed'")) {
            assertTrue(rs.next());
            assertEquals("killer", rs.getString(1), "the body is kept in the dead-letter table");
            assertEquals(4, rs.getInt(2));
            assertTrue(rs.getString(3).contains("never completed"), rs.getString(3));
        }
    }

    private static long deadLetters(String channel) throws Exception {
        return ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE + "_dead WHERE channel = '" + channel + "'")).longValue();
    }
}
