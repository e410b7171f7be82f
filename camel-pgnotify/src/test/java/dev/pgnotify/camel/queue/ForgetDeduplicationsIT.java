package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyITSupport;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The consumers' sweep forgets deduplication ids whose window is over. It must not forget one that a producer takes
 * again at that moment: the producer's insert sets the id's row to 'infinity' and holds it locked until it commits,
 * the sweep's delete waits for it and then sees the producer's version. Were the window not tested again on that
 * version, the live message's id would be forgotten, and a duplicate of it could be enqueued.
 */
class ForgetDeduplicationsIT extends PgNotifyITSupport {

    private static final String TABLE = "forget_dedup_queue";
    private static final String URI = "pgnotify:forget?table=" + TABLE;

    @Test
    void anIdTakenAgainWhileTheSweepWaitsForItIsNotForgotten() throws Exception {
        dropQueue(TABLE);
        template.sendBody(URI, "setup");
        server().execute("DELETE FROM " + TABLE,
                "INSERT INTO " + TABLE + "_dedup (channel, dedup_id, until, window_ms)"
                + " VALUES ('forget', 'order-1', now() - interval '1 minute', 0)");
        QueueSql sql = new QueueSql(QueueTable.of(TABLE, null).inSchema("public"));
        try (Connection producer = server().connect(); Connection sweeper = server().connect()) {
            producer.setAutoCommit(false);
            try (Statement statement = producer.createStatement()) {
                statement.execute("INSERT INTO " + TABLE + " (channel, body_text, dedup_id)"
                                  + " VALUES ('forget', 'taken again', 'order-1')");
            }
            long sweeperPid = backendPid(sweeper);
            CompletableFuture<Integer> forgotten = CompletableFuture.supplyAsync(() -> {
                try (PreparedStatement forget = sweeper.prepareStatement(sql.forgetDeduplications)) {
                    return forget.executeUpdate();
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            await(Duration.ofSeconds(10)).until(() -> "Lock".equals(server().queryValue(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = " + sweeperPid)));
            producer.commit();
            assertEquals(0, forgotten.get(10, TimeUnit.SECONDS), "the sweep forgot the id taken again");
        }
        assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE + "_dedup"
                                                       + " WHERE dedup_id = 'order-1' AND until = 'infinity'"))
                .longValue());
        Exchange again = template.request(URI, exchange -> {
            exchange.getMessage().setBody("a duplicate");
            exchange.getMessage().setHeader(PgNotifyConstants.DEDUPLICATION_ID, "order-1");
        });
        assertTrue(again.getMessage().getHeader(PgNotifyConstants.DUPLICATE, Boolean.class), "still taken");
    }

    private static long backendPid(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
