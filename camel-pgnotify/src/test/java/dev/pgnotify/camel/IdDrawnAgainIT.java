package dev.pgnotify.camel;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An id can be drawn again: after a failover to an asynchronous standby (the new primary's sequence lacks what the old
 * one drew in the replication lag), after a crash that lost asynchronously committed inserts, after a sequence
 * restarted by hand. A consumer that claimed a message under that id before and settles it after must not settle the
 * new message that took the id, even when that one was claimed at the same attempt by another consumer: its
 * acknowledgement would delete it, its failure dead-letter it, while its holder processes it; if that processing then
 * fails, the message is gone. (Rule "Fence" of docs/claim-engine.md: a settlement names the row, not only its id
 * and attempt.) SQL stands in for the failover: while the route holds the old message, the row is deleted and a new one
 * inserted under the same id, claimed once, as another consumer's claim on the new primary leaves it.
 */
class IdDrawnAgainIT extends PgNotifyITSupport {

    private static final String TABLE = "id_again_queue";
    private static final String TOPIC = "id_again_topic";

    private final CountDownLatch holding = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch oddDelivered = new CountDownLatch(1);

    @BeforeEach
    void dropTables() throws Exception {
        dropQueue(TABLE);
        TopicDeliveryIT.dropTopic(TOPIC);
    }

    @AfterEach
    void releaseRoute() {
        release.countDown();
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from("pgnotify:acked?table=" + TABLE).routeId("acked").autoStartup(false)
                        .process(exchange -> hold());
                from("pgnotify:failed?table=" + TABLE + "&maxAttempts=1").routeId("failed").autoStartup(false)
                        .process(exchange -> {
                            hold();
                            throw new IllegalStateException("the old message fails on its last attempt");
                        });
                from("pgnotify:odd?table=" + TABLE).routeId("odd").autoStartup(false)
                        .process(exchange -> oddDelivered.countDown());
                from("pgnotify:published?mode=topic&topicTable=" + TOPIC + "&group=g").routeId("group")
                        .autoStartup(false)
                        .process(exchange -> hold());
            }
        };
    }

    private void hold() throws InterruptedException {
        holding.countDown();
        if (!release.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("not released");
        }
    }

    @Test
    void anAcknowledgementDoesNotDeleteANewMessageThatTookTheId() throws Exception {
        // acknowledgements go with the next claim, or at the latest when the route stops
        long id = settledAfterTheIdWasDrawnAgain("acked");

        assertEquals("new", server().queryValue("SELECT body_text FROM " + TABLE + " WHERE id = " + id),
                "the new message under the old id is still there for its holder");
    }

    @Test
    void aFailureOnTheLastAttemptDoesNotDeadLetterANewMessageThatTookTheId() throws Exception {
        // the failure is settled before the route's thread claims again; a stop waits for that thread
        long id = settledAfterTheIdWasDrawnAgain("failed");

        assertEquals("new", server().queryValue("SELECT body_text FROM " + TABLE + " WHERE id = " + id),
                "the new message under the old id is still there for its holder");
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE + "_dead")).longValue(),
                "nothing dead-lettered: the old message's failure does not name the new one");
    }

    @Test
    void aTopicGroupsAcknowledgementDoesNotDeleteANewItemThatTookTheId() throws Exception {
        context.getRouteController().startRoute("group");
        template.sendBody("pgnotify:published?mode=topic&topicTable=" + TOPIC, "m1");
        assertTrue(holding.await(10, TimeUnit.SECONDS), "the group holds its item");
        long item = ((Number) server().queryValue("SELECT id FROM " + TOPIC + "_items")).longValue();
        assertEquals(1L, ((Number) server().queryValue("SELECT attempts FROM " + TOPIC + "_items")).longValue());
        // the item's id drawn again: another item of the group, claimed once by another consumer
        server().execute("DELETE FROM " + TOPIC + "_items WHERE id = " + item,
                "INSERT INTO " + TOPIC + "_items (id, channel, group_name, ids, attempts, available_at)"
                + " SELECT " + item + ", 'published', 'g', ARRAY[max(id)], 1, now() + interval '1 hour' FROM " + TOPIC);

        release.countDown();
        context.getRouteController().stopRoute("group");

        assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM " + TOPIC + "_items WHERE id = " + item))
                .longValue(), "the new item under the old id is still there for its holder");
    }

    /**
     * The fence is the creation time in microseconds; one that a publisher wrote by hand beyond what a bigint of them
     * holds must not fail the claims of the whole channel: the message is delivered and acknowledged as any other.
     */
    @Test
    void aMessageWrittenWithAnInfiniteCreationTimeIsDeliveredAndAcknowledged() throws Exception {
        context.getRouteController().startRoute("odd");
        server().execute("INSERT INTO " + TABLE + " (channel, body_text, created_at) VALUES ('odd', 'x', 'infinity')");
        assertTrue(oddDelivered.await(10, TimeUnit.SECONDS), "delivered");
        context.getRouteController().stopRoute("odd");
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE + " WHERE channel = 'odd'"))
                .longValue(), "acknowledged");
    }

    /**
     * Sends "old" to the route of that name (and channel), replaces its row while the route holds it (see
     * {@link #drawAgain}), then lets the route finish and stops it, so that its settlement has been sent; returns the
     * id.
     */
    private long settledAfterTheIdWasDrawnAgain(String route) throws Exception {
        context.getRouteController().startRoute(route);
        template.sendBody("pgnotify:" + route + "?table=" + TABLE, "old");
        assertTrue(holding.await(10, TimeUnit.SECONDS), "the route holds the old message");
        long id = drawAgain(route);
        release.countDown();
        context.getRouteController().stopRoute(route);
        return id;
    }

    /**
     * The held message's row replaced by a new message under the same id, claimed once by another consumer (its lease
     * an hour long, so that nothing here claims it); returns the id.
     */
    private static long drawAgain(String channel) throws Exception {
        long id = ((Number) server().queryValue("SELECT id FROM " + TABLE + " WHERE channel = '" + channel + "'"))
                .longValue();
        assertEquals(1L, ((Number) server().queryValue("SELECT attempts FROM " + TABLE + " WHERE id = " + id))
                .longValue(), "claimed once");
        server().execute("DELETE FROM " + TABLE + " WHERE id = " + id,
                "INSERT INTO " + TABLE + " (id, channel, body_text, attempts, available_at)"
                + " VALUES (" + id + ", '" + channel + "', 'new', 1, now() + interval '1 hour')");
        return id;
    }
}
