package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

import dev.pgnotify.camel.browse.BrowsedMessage;
import dev.pgnotify.camel.browse.ChannelBrowse;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.produce.MessageCodec;

/**
 * mode=queue: a channel's messages for Camel's browsing tools. The waiting messages come from the claim index
 * (channel, id) in its order, so a deep queue costs no more than the rows shown; the dead-letter table has no index on
 * its channel: its primary key is read in id order until enough of the channel's rows are found (a dead-letter table is
 * small, or holds mostly one channel's).
 */
final class QueueBrowse implements ChannelBrowse {

    private final QueueResources queue;
    private final String channel;
    private final String waiting;
    private final String deadLetters;

    QueueBrowse(QueueResources queue, String channel) {
        this.queue = queue;
        this.channel = channel;
        QueueTable table = queue.table();
        // the columns of BrowsedMessage; the consumer's view of a waiting message: no attempts, its last error if any
        waiting = "SELECT q.id, q.body_json, q.body_text, q.body_bytes, q.headers, q.created_at, q.message_key,"
                  + " NULL::integer, q.last_error, NULL::text FROM " + table.sql() + " q WHERE q.channel = ?"
                  + " ORDER BY q.id LIMIT ?";
        deadLetters = "SELECT d.id, d.body_json, d.body_text, d.body_bytes, d.headers, d.created_at, d.message_key,"
                      + " d.attempts, d.last_error, NULL::text FROM " + table.deadLetterSql() + " d WHERE d.channel = ?"
                      + " ORDER BY d.id, d.created_at LIMIT ?";
    }

    @Override
    public List<BrowsedMessage> waiting(Connection connection, int limit) throws SQLException {
        return read(connection, waiting, limit);
    }

    @Override
    public List<BrowsedMessage> deadLetters(Connection connection, int limit) throws SQLException {
        return read(connection, deadLetters, limit);
    }

    private List<BrowsedMessage> read(Connection connection, String sql, int limit) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            WorkRows.preferBinaryResults(statement);
            statement.setString(1, channel);
            statement.setInt(2, limit);
            return BrowsedMessage.readAll(statement);
        }
    }

    @Override
    public MessageCodec codec() {
        return queue.codec();
    }
}
