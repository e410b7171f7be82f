package dev.pgnotify.camel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Priority (header CamelPgNotifyPriority, column priority): among the due messages of a channel, higher priorities are
 * delivered first, within one priority in the order of sending; per-key order comes first.
 */
class QueuePriorityIT extends PgNotifyITSupport {

    private static final String TABLE = "priority_it_queue";
    private static final String JOBS = "pgnotify:jobs?table=" + TABLE;

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                // small claims, so that the order across many claims shows
                from(JOBS + "&maxMessagesPerPoll=5").routeId("jobs").autoStartup(false).to("mock:jobs");
                // a sweep a minute: what the claims pass over waits that long
                from(JOBS + "&maxMessagesPerPoll=5&pollInterval=60000").routeId("rarelySwept").autoStartup(false)
                        .to("mock:rarelySwept");
            }
        };
    }

    @Test
    void higherPrioritiesComeFirstAndWithinOneTheOrderOfSending() throws Exception {
        Random random = new Random(7);
        List<Map.Entry<Integer, String>> sent = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int priority = random.nextInt(4);
            String body = "job " + i + " (priority " + priority + ")";
            if (priority == 0 && i % 2 == 0) {
                // no header: the default
                template.sendBody(JOBS, body);
            } else {
                template.sendBodyAndHeader(JOBS, body, PgNotifyConstants.PRIORITY, priority);
            }
            sent.add(Map.entry(priority, body));
        }
        // a publisher in SQL sets the column
        server().execute("INSERT INTO " + TABLE + " (channel, body_text, priority) VALUES ('jobs', 'urgent from SQL', 9)");
        List<String> expected = new ArrayList<>();
        expected.add("urgent from SQL");
        sent.stream().sorted(Comparator.comparing((Map.Entry<Integer, String> e) -> -e.getKey()))
                .forEach(e -> expected.add(e.getValue()));

        MockEndpoint jobs = getMockEndpoint("mock:jobs");
        jobs.expectedBodiesReceived(expected);
        context.getRouteController().startRoute("jobs");
        jobs.setResultWaitTime(20_000);
        jobs.assertIsSatisfied();
    }

    @Test
    void aPrioritizedMessageOvertakesABacklogButNotTheEarlierMessagesOfItsKey() throws Exception {
        for (int i = 0; i < 50; i++) {
            template.sendBody(JOBS, "backlog " + i);
        }
        template.sendBodyAndHeader(JOBS, "first of order 7", PgNotifyConstants.KEY, "order-7");
        template.send(JOBS, exchange -> {
            exchange.getMessage().setBody("urgent second of order 7");
            exchange.getMessage().setHeader(PgNotifyConstants.KEY, "order-7");
            exchange.getMessage().setHeader(PgNotifyConstants.PRIORITY, 9);
        });
        template.sendBodyAndHeader(JOBS, "urgent", PgNotifyConstants.PRIORITY, 5);

        MockEndpoint jobs = getMockEndpoint("mock:jobs");
        jobs.expectedMessageCount(53);
        context.getRouteController().startRoute("jobs");
        jobs.setResultWaitTime(20_000);
        jobs.assertIsSatisfied();
        List<String> order = jobs.getExchanges().stream().map(e -> e.getMessage().getBody(String.class)).toList();
        assertEquals("urgent", order.get(0), order.toString());
        assertTrue(order.indexOf("first of order 7") < order.indexOf("urgent second of order 7"), order.toString());
        // the key's first message went in its turn (after the backlog, sent before it), its urgent second right after
        assertEquals(order.indexOf("first of order 7") + 1, order.indexOf("urgent second of order 7"),
                order.toString());
    }

    /**
     * While higher priorities fill every claim, the claims do not lock the waiting unprioritized messages again and
     * again, and do not pass over them either: they are delivered as soon as the higher ones are done, not at the
     * next sweep.
     */
    @Test
    void unprioritizedMessagesFollowAFullBacklogOfHigherOnesAtOnce() throws Exception {
        List<String> expected = new ArrayList<>();
        List<String> later = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            template.sendBody(JOBS, "plain " + i);
            later.add("plain " + i);
        }
        for (int i = 0; i < 40; i++) {
            template.sendBodyAndHeader(JOBS, "urgent " + i, PgNotifyConstants.PRIORITY, 1);
            expected.add("urgent " + i);
        }
        expected.addAll(later);

        MockEndpoint jobs = getMockEndpoint("mock:rarelySwept");
        jobs.expectedBodiesReceived(expected);
        long started = System.nanoTime();
        context.getRouteController().startRoute("rarelySwept");
        jobs.setResultWaitTime(20_000);
        jobs.assertIsSatisfied();
        long tookMillis = (System.nanoTime() - started) / 1_000_000;
        assertTrue(tookMillis < 15_000, "took " + tookMillis + " ms: the plain messages waited for a sweep");
    }

    @Test
    void aBadPriorityIsRefusedWithAClearErrorAndNothingIsSent() throws Exception {
        Exception negative = assertThrows(Exception.class,
                () -> template.sendBodyAndHeader(JOBS, "x", PgNotifyConstants.PRIORITY, -1));
        assertTrue(negative.getCause().getMessage().contains("CamelPgNotifyPriority must be an integer from 0 up"),
                negative.getCause().getMessage());
        Exception text = assertThrows(Exception.class,
                () -> template.sendBodyAndHeader(JOBS, "x", PgNotifyConstants.PRIORITY, "high"));
        assertTrue(text.getCause().getMessage().contains("CamelPgNotifyPriority must be an integer from 0 up"),
                text.getCause().getMessage());
        // the table refuses it from SQL too
        Exception sql = assertThrows(Exception.class, () -> server().execute(
                "INSERT INTO " + TABLE + " (channel, body_text, priority) VALUES ('jobs', 'x', -1)"));
        assertTrue(sql.getMessage().contains("check constraint"), sql.getMessage());
        await(Duration.ofSeconds(1)).until(() -> ((Number) server().queryValue("SELECT count(*) FROM " + TABLE))
                .longValue() == 0);
    }
}
