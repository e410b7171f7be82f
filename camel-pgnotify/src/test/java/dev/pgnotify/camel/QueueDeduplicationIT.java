package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deduplication (header CamelPgNotifyDeduplicationId, column dedup_id): a message whose id is taken on its channel is
 * not enqueued and the producer says so; the id is taken while its message waits or is in flight, and for
 * deduplicationWindow after it completed; eight concurrent producers enqueue it once; SQL publishers get the same.
 */
class QueueDeduplicationIT extends PgNotifyITSupport {

    private static final String TABLE = "dedup_it_queue";
    private static final String ORDERS = "pgnotify:dedup-orders?table=" + TABLE;

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(ORDERS).routeId("orders").autoStartup(false).to("mock:orders");
            }
        };
    }

    @Test
    void eightConcurrentProducersEnqueueTheMessageOnce() throws Exception {
        ExecutorService producers = Executors.newFixedThreadPool(8, r -> new Thread(r, "dedup-producer"));
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Exchange>> sends = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                int producer = i;
                sends.add(producers.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return template.request(ORDERS, exchange -> {
                        exchange.getMessage().setBody("order 7 from producer " + producer);
                        exchange.getMessage().setHeader(PgNotifyConstants.DEDUPLICATION_ID, "order-7");
                    });
                }));
            }
            start.countDown();
            int enqueued = 0;
            int duplicates = 0;
            for (Future<Exchange> send : sends) {
                Exchange done = send.get(30, TimeUnit.SECONDS);
                assertFalse(done.isFailed(), "a duplicate is reported, not a failure");
                if (done.getMessage().getHeader(PgNotifyConstants.DUPLICATE, Boolean.class)) {
                    duplicates++;
                } else {
                    enqueued++;
                    assertNotNull(done.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID));
                }
            }
            assertEquals(1, enqueued);
            assertEquals(7, duplicates);
            assertEquals(1L, count("SELECT count(*) FROM " + TABLE + " WHERE dedup_id = 'order-7'"));
        } finally {
            producers.shutdownNow();
        }
    }

    @Test
    void theIdIsTakenWhileTheMessageExistsAndForTheWindowAfter() throws Exception {
        assertFalse(send(ORDERS + "&deduplicationWindow=1500", "first", "order-8"), "enqueued");
        assertTrue(send(ORDERS, "again, while waiting", "order-8"), "taken while the message waits");

        consumeAll("first");
        // acknowledged: the id stays taken for the window
        assertTrue(send(ORDERS, "again, within the window", "order-8"));
        // and is free once it is over
        await(Duration.ofSeconds(10)).until(() -> !send(ORDERS, "after the window", "order-8"));
        assertEquals(1L, count("SELECT count(*) FROM " + TABLE + "_dedup WHERE dedup_id = 'order-8'"));
    }

    @Test
    void withoutAWindowTheIdIsFreeOnceTheMessageIsDoneAndSqlPublishersAreDeduplicatedToo() throws Exception {
        // the queue's schema, as the application that created it left it
        template.sendBody("pgnotify:dedup-setup?table=" + TABLE, "setup");
        server().execute("DELETE FROM " + TABLE,
                "INSERT INTO " + TABLE + " (channel, body_text, dedup_id) VALUES ('dedup-orders', 'sql 1', 'order-9')",
                "INSERT INTO " + TABLE + " (channel, body_text, dedup_id) VALUES ('dedup-orders', 'sql 2', 'order-9')");
        assertEquals(1L, count("SELECT count(*) FROM " + TABLE + " WHERE dedup_id = 'order-9'"), "the second skipped");
        consumeAll("sql 1");
        assertFalse(send(ORDERS, "sent again once done", "order-9"), "free again: no window");
    }

    @Test
    void aQueueOfAnEarlierVersionGetsTheTriggerOncePerStatementWithoutHoldingUpTheQueue() throws Exception {
        template.sendBody("pgnotify:dedup-setup?table=" + TABLE, "setup");
        server().execute("DELETE FROM " + TABLE);
        putBackTheEarlierTrigger();
        server().execute("DROP TRIGGER " + TABLE + "_dedup_window ON " + TABLE,
                "DROP FUNCTION " + TABLE + "_dedup_window()",
                "ALTER TABLE " + TABLE + "_dedup RESET (fillfactor)",
                // only the reader below may hold the tables off (an autovacuum would too: then the next start)
                "ALTER TABLE " + TABLE + " SET (autovacuum_enabled = false)",
                "ALTER TABLE " + TABLE + "_dedup SET (autovacuum_enabled = false)");

        // without createSchema, an application starts on it as it is
        int sent = 150;
        for (int i = 0; i < sent; i++) {
            assertFalse(send("pgnotify:dedup-orders?table=" + TABLE + "&createSchema=false&deduplicationWindow=60s",
                    "before the upgrade " + i, "upgrade-" + i));
        }
        assertEquals(List.of(TABLE + "_dedup", TABLE + "_dedup_done"), deduplicationTriggers());

        // a transaction that has read the queue holds off the trigger's replacement: the start waits for it a
        // moment only (every statement on the queue would wait behind it meanwhile), leaves the earlier trigger for
        // the next start, and sends
        try (Connection reader = server().connect()) {
            reader.setAutoCommit(false);
            try (Statement statement = reader.createStatement()) {
                statement.execute("SELECT count(*) FROM " + TABLE);
            }
            long started = System.nanoTime();
            assertFalse(send("pgnotify:dedup-orders?table=" + TABLE + "&deduplicationWindow=60s",
                    "while a reader holds the table", "upgrade-" + sent));
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(tookMillis < 5_000, "the start waited " + tookMillis + " ms");
            assertEquals(List.of(TABLE + "_dedup", TABLE + "_dedup_done"), deduplicationTriggers());
            reader.rollback();
        }

        // the consumer's start replaces it, in place
        MockEndpoint orders = getMockEndpoint("mock:orders");
        orders.expectedMessageCount(sent + 1);
        context.getRouteController().startRoute("orders");
        orders.setResultWaitTime(20_000);
        orders.assertIsSatisfied();
        assertEquals(List.of(TABLE + "_dedup", TABLE + "_dedup_window"), deduplicationTriggers());
        assertEquals(0L, count("SELECT count(*) FROM pg_proc WHERE proname = '" + TABLE + "_dedup_done'"));
        assertEquals(1L, count("SELECT count(*) FROM pg_class WHERE relname = '" + TABLE + "_dedup'"
                               + " AND 'fillfactor=50' = ANY(reloptions)"));
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE) == 0);
        // every id's window started, none stays taken for good
        String upgraded = " FROM " + TABLE + "_dedup WHERE dedup_id LIKE 'upgrade-%'";
        assertEquals(sent + 1, count("SELECT count(*)" + upgraded
                                     + " AND until > now() AND until < now() + interval '61 seconds'"));
        // several in one statement: the rows rewritten by one claim's transaction
        long claims = count("SELECT count(DISTINCT xmin::text)" + upgraded);
        assertTrue(claims <= (sent + 1) / 2, claims + " claims acknowledged " + (sent + 1) + " messages");
        assertTrue(send(ORDERS, "again, within the window", "upgrade-7"));

        // the earlier version started again puts its trigger back beside this one: both start the same window
        putBackTheEarlierTrigger();
        assertFalse(send("pgnotify:dedup-orders?table=" + TABLE + "&createSchema=false&deduplicationWindow=60s",
                "while both triggers are there", "both-1"));
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dedup WHERE dedup_id"
                                                        + " = 'both-1' AND until < 'infinity'") == 1);
        assertEquals(1L, count("SELECT count(*) FROM " + TABLE + "_dedup WHERE dedup_id = 'both-1'"
                               + " AND until > now() AND until < now() + interval '61 seconds'"));
        assertEquals(List.of(TABLE + "_dedup", TABLE + "_dedup_done", TABLE + "_dedup_window"),
                deduplicationTriggers());

        // and this version's next start replaces it again
        context.getRouteController().stopRoute("orders");
        assertFalse(send("pgnotify:dedup-orders?table=" + TABLE + "&deduplicationWindow=30s", "after going back",
                "back-1"));
        assertEquals(List.of(TABLE + "_dedup", TABLE + "_dedup_window"), deduplicationTriggers());
        context.getRouteController().startRoute("orders");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dedup WHERE dedup_id"
                                                        + " = 'back-1' AND until < 'infinity'") == 1);
    }

    /** The earlier version's trigger that started each message's window, once per row, as it created it. */
    private static void putBackTheEarlierTrigger() throws Exception {
        String done = TABLE + "_dedup_done";
        server().execute("CREATE OR REPLACE FUNCTION " + done + "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                         + "BEGIN\n"
                         + "    UPDATE " + TABLE + "_dedup SET until = clock_timestamp() + window_ms"
                         + " * interval '1 millisecond'\n"
                         + "    WHERE channel = OLD.channel AND dedup_id = OLD.dedup_id;\n"
                         + "    RETURN NULL;\n"
                         + "END $$",
                "CREATE TRIGGER " + done + " AFTER DELETE ON " + TABLE
                + " FOR EACH ROW WHEN (OLD.dedup_id IS NOT NULL) EXECUTE FUNCTION " + done + "()");
    }

    /** The names of the queue table's deduplication triggers, in order. */
    private static List<String> deduplicationTriggers() throws Exception {
        String names = (String) server().queryValue("SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger"
                                                    + " WHERE tgrelid = '" + TABLE + "'::regclass"
                                                    + " AND starts_with(tgname, '" + TABLE + "_dedup')");
        return List.of(names.split(","));
    }

    @Test
    void aWindowTooLongForTheCalendarKeepsTheIdForGoodAndItsMessageStillLeavesTheQueue() throws Exception {
        assertFalse(send(ORDERS + "&deduplicationWindow=" + Long.MAX_VALUE, "kept for good", "order-10"));
        // its acknowledgement goes through (before, the window's end overflowed and failed every delete of it)
        consumeAll("kept for good");
        assertEquals("infinity", server().queryValue("SELECT until::text FROM " + TABLE + "_dedup"
                                                     + " WHERE dedup_id = 'order-10'"));
        assertTrue(send(ORDERS, "again", "order-10"));
    }

    @Test
    void aBatchCannotCarryOneDeduplicationId() {
        Exception e = assertThrows(Exception.class, () -> template.sendBodyAndHeader(ORDERS + "&batch=true",
                List.of("a", "b"), PgNotifyConstants.DEDUPLICATION_ID, "batch-1"));
        assertTrue(e.getCause().getMessage().contains("send them one by one"), e.getCause().getMessage());
    }

    /** Starts the consumer and waits until it received these bodies, in order, and acknowledged them all. */
    private void consumeAll(String... bodies) throws Exception {
        MockEndpoint orders = getMockEndpoint("mock:orders");
        orders.expectedBodiesReceived((Object[]) bodies);
        context.getRouteController().startRoute("orders");
        orders.setResultWaitTime(10_000);
        orders.assertIsSatisfied();
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE) == 0);
    }

    /** Sends a message with a deduplication id; returns whether it was a duplicate. */
    private boolean send(String uri, String body, String deduplicationId) {
        Exchange done = template.request(uri, exchange -> {
            exchange.getMessage().setBody(body);
            exchange.getMessage().setHeader(PgNotifyConstants.DEDUPLICATION_ID, deduplicationId);
        });
        assertFalse(done.isFailed(), () -> String.valueOf(done.getException()));
        return done.getMessage().getHeader(PgNotifyConstants.DUPLICATE, Boolean.class);
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
