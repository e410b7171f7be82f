package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import dev.pgnotify.camel.produce.ProducerSettings;
import dev.pgnotify.camel.test.PgTestServer;

/**
 * A producer of {@link DeduplicationHistory} that sends over SQL, as an application's own INSERT would, in a
 * transaction that stays open between the history's steps; and what the history knows of it.
 */
final class TransactionalSender {

    /** A send that waits for another transaction taking the same id. */
    record Waiting(int id, DeduplicationModel.Message message, CompletableFuture<Long> sent,
                   TransactionalSender blockedBy) {
    }

    final String name;
    /** The ids it took, with their messages (not committed yet). */
    final Map<Integer, DeduplicationModel.Message> taking = new HashMap<>();
    /** Whether it was refused an id, and whether after waiting for another transaction (it lost a race). */
    boolean refused;
    boolean lostARace;
    Waiting waiting;
    private Connection connection;
    private long window;

    TransactionalSender(String name) {
        this.name = name;
    }

    boolean open() {
        return connection != null;
    }

    long window() {
        return window;
    }

    /** Begins its transaction, with this deduplication window for what it sends. */
    void begin(long window) throws SQLException {
        connection = PgTestServer.get().connect();
        connection.setAutoCommit(false);
        this.window = window;
        try (PreparedStatement set = connection.prepareStatement("SELECT set_config(?, ?, true)")) {
            set.setString(1, ProducerSettings.DEDUPLICATION_WINDOW_SETTING);
            set.setString(2, Long.toString(window));
            set.executeQuery().close();
        }
    }

    /** Inserts a message with this deduplication id: its message id, or null when it was refused. */
    Long send(String body, String dedupId) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + DeduplicationHistory.TABLE
                + " (channel, body_text, dedup_id) VALUES (?, ?, ?) RETURNING id")) {
            insert.setString(1, DeduplicationHistory.CHANNEL);
            insert.setString(2, body);
            insert.setString(3, dedupId);
            try (ResultSet rs = insert.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    CompletableFuture<Long> sendLater(String body, String dedupId, Executor executor) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return send(body, dedupId);
            } catch (SQLException e) {
                throw new CompletionException(e);
            }
        }, executor);
    }

    /** Commits or rolls back, and forgets what it took. */
    void end(boolean commit) throws SQLException {
        try {
            if (commit) {
                connection.commit();
            } else {
                connection.rollback();
            }
        } finally {
            connection.close();
            connection = null;
            taking.clear();
            refused = false;
            lostARace = false;
        }
    }
}
