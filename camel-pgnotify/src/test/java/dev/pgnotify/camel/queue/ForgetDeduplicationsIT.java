package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.WorkRows;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The consumers' sweep forgets deduplication ids whose window is over, and waits for no producer to do it. An id a
 * producer holds is one it is taking again (its insert sets the row to 'infinity' and holds it locked until it
 * commits): the sweep leaves it, so that the live message's id is not forgotten and no duplicate of it can be
 * enqueued. And it does not wait for it: waiting, the sweep held the other expired ids it had locked, and a producer's
 * transaction that took one of those next (several sends with deduplication ids in one transaction) waited for the
 * sweep while the sweep waited for it, "deadlock detected", the producer's transaction rolled back. (Where PostgreSQL
 * waits despite SKIP LOCKED, a row's newer version locked, the sweep gives up after its lock_timeout: an independent
 * review's debugger reproduction, not this test.)
 */
class ForgetDeduplicationsIT extends PgNotifyITSupport {

    private static final String TABLE = "forget_dedup_queue";
    private static final String URI = "pgnotify:forget?table=" + TABLE;

    @Test
    void theSweepLeavesAnIdAProducerHoldsWithoutWaitingAndForgetsTheOthers() throws Exception {
        dropQueue(TABLE);
        template.sendBody(URI, "setup");
        server().execute("DELETE FROM " + TABLE,
                "INSERT INTO " + TABLE + "_dedup (channel, dedup_id, until, window_ms)"
                + " VALUES ('forget', 'order-1', now() - interval '1 minute', 0),"
                + " ('forget', 'order-2', now() - interval '1 minute', 0)");
        QueueSql sql = new QueueSql(QueueTable.of(TABLE, null).inSchema("public"));
        try (Connection producer = server().connect(); Connection sweeper = server().connect()) {
            // one transaction sending twice, each with an id whose window is over: the first is taken
            producer.setAutoCommit(false);
            insert(producer, "order-1");
            long sweeperPid = backendPid(sweeper);
            CompletableFuture<Integer> forgotten = CompletableFuture.supplyAsync(() -> {
                try (PreparedStatement forget = sweeper.prepareStatement(sql.forgetDeduplications)) {
                    return WorkRows.executeWrite(forget);
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            // while the producer still holds the first: the sweep waited for it before
            try {
                assertEquals(1, forgotten.get(10, TimeUnit.SECONDS), "the sweep forgot the free id, not the one taken");
            } catch (TimeoutException e) {
                Object waiting = server().queryValue("SELECT wait_event_type FROM pg_stat_activity WHERE pid = "
                                                     + sweeperPid);
                producer.rollback();
                throw new AssertionError("the sweep waited for the producer (" + waiting + ")", e);
            }
            // the second, freed meanwhile: taken as a new id, at once
            insert(producer, "order-2");
            producer.commit();
        }
        assertEquals(2L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE + "_dedup"
                                                       + " WHERE until = 'infinity'")).longValue(), "both ids taken");
        assertEquals(2L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE)).longValue(),
                "both messages enqueued");
        Exchange again = template.request(URI, exchange -> {
            exchange.getMessage().setBody("a duplicate");
            exchange.getMessage().setHeader(PgNotifyConstants.DEDUPLICATION_ID, "order-1");
        });
        assertTrue(again.getMessage().getHeader(PgNotifyConstants.DUPLICATE, Boolean.class), "still taken");
    }

    private static void insert(Connection producer, String dedupId) throws SQLException {
        String sql = "INSERT INTO " + TABLE + " (channel, body_text, dedup_id) VALUES ('forget', ?, ?)";
        try (PreparedStatement insert = producer.prepareStatement(sql)) {
            insert.setString(1, "taken again: " + dedupId);
            insert.setString(2, dedupId);
            assertEquals(1, insert.executeUpdate(), dedupId + " enqueued");
        }
    }
}
