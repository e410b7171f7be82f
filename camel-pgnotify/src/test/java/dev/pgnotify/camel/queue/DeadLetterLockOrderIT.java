package dev.pgnotify.camel.queue;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyITSupport;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two operations on a queue's dead letters at once (a requeue of all from one operator, a purge of some by id from
 * another, each a JMX call or a producer operation) must not deadlock: each locks the dead letters it chose in the
 * order of their key before it deletes any. Before, a requeue of all read them in the table's page order and a purge by
 * ids through the key: dead letters written in descending id order were locked in opposite orders, and the two waited
 * for each other, "deadlock detected", one of them rolled back. Forced here: a third session holds the middle dead
 * letter, so that both operations are under way and waiting when it lets go.
 */
class DeadLetterLockOrderIT extends PgNotifyITSupport {

    private static final String TABLE = "dead_lock_order_queue";
    private static final String CHANNEL = "dead_order";

    @Test
    void aRequeueOfAllAndAPurgeByIdsAtOnceDoNotDeadlock() throws Exception {
        dropQueue(TABLE);
        template.sendBody("pgnotify:" + CHANNEL + "?table=" + TABLE, "setup");
        String dead = TABLE + "_dead";
        // other channels' dead letters, so that a look-up by ids goes through the key; this channel's three in
        // descending id order, the order a scan of the table's pages reads them in
        server().execute("DELETE FROM " + TABLE,
                "INSERT INTO " + dead + " (id, channel, body_text, headers, created_at, attempts)"
                + " SELECT g, 'other', 'x', '{}', now(), 3 FROM generate_series(1000, 20999) g",
                "INSERT INTO " + dead + " (id, channel, body_text, headers, created_at, attempts)"
                + " SELECT g, '" + CHANNEL + "', 'dead ' || g, '{}', now(), 3 FROM generate_series(3, 1, -1) g",
                "ANALYZE " + dead);
        QueueAdminSql sql = new QueueAdminSql(QueueTable.of(TABLE, null).inSchema("public"));
        try (Connection holder = server().connect(); Connection purging = server().connect();
             Connection requeueing = server().connect()) {
            holder.setAutoCommit(false);
            try (Statement statement = holder.createStatement()) {
                statement.executeQuery("SELECT 1 FROM " + dead + " WHERE id = 2 FOR UPDATE").close();
            }
            try (Statement statement = purging.createStatement()) {
                // the look-up by ids in the key's order, as a plan for a few ids reads them
                statement.execute("SET enable_bitmapscan = off");
            }
            long purgingPid = backendPid(purging);
            long requeueingPid = backendPid(requeueing);
            CompletableFuture<Integer> purged = CompletableFuture.supplyAsync(() -> run(purging,
                    sql.purgeDeadLetters, new Long[] { 1L, 2L, 3L }));
            awaitLockWait(purgingPid);
            CompletableFuture<Integer> requeued = CompletableFuture.supplyAsync(() -> run(requeueing,
                    sql.requeueDeadLetters, null));
            awaitLockWait(requeueingPid);
            holder.commit();

            // both end, neither rolled back: the purge, first in line, takes all three; the requeue finds none left
            assertEquals(3, purged.get(10, TimeUnit.SECONDS), "purged");
            assertEquals(0, requeued.get(10, TimeUnit.SECONDS), "requeued");
        }
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + dead + " WHERE channel = '"
                                                       + CHANNEL + "'")).longValue());
        assertEquals(20_000L, ((Number) server().queryValue("SELECT count(*) FROM " + dead)).longValue(),
                "other channels' dead letters untouched");
    }

    /** The operation's statement (channel, ids or null for all), as QueueAdmin runs it: rows returned or deleted. */
    private static int run(Connection connection, String statementSql, Long[] ids) {
        try (PreparedStatement statement = connection.prepareStatement(statementSql)) {
            Array array = ids == null ? null : connection.createArrayOf("bigint", ids);
            statement.setString(1, CHANNEL);
            statement.setArray(2, array);
            statement.setArray(3, array);
            if (!statement.execute()) {
                return statement.getUpdateCount();
            }
            int rows = 0;
            try (ResultSet rs = statement.getResultSet()) {
                while (rs.next()) {
                    rows++;
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new CompletionException(e);
        }
    }
}
