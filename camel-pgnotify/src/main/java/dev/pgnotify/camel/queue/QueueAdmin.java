package dev.pgnotify.camel.queue;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;

import dev.pgnotify.camel.PgNotifyStatistics;
import dev.pgnotify.camel.admin.ChannelAdmin;

/** mode=queue: a channel's figures and its dead letters. */
final class QueueAdmin implements ChannelAdmin {

    private final QueueAdminSql sql;
    private final String channel;

    QueueAdmin(QueueAdminSql sql, String channel) {
        this.sql = sql;
        this.channel = channel;
    }

    @Override
    public List<PgNotifyStatistics> statistics(Connection connection) throws SQLException {
        long cap = PgNotifyStatistics.COUNT_CAP;
        try (PreparedStatement statistics = connection.prepareStatement(sql.statistics)) {
            int i = 1;
            for (int count = 0; count < 3; count++) {
                statistics.setString(i++, channel);
                statistics.setLong(i++, cap);
            }
            statistics.setString(i++, channel);
            statistics.setString(i++, channel);
            statistics.setLong(i++, cap);
            statistics.setString(i++, channel);
            statistics.setLong(i, cap);
            try (ResultSet rs = statistics.executeQuery()) {
                rs.next();
                long oldest = rs.getLong(4);
                Long oldestAge = rs.wasNull() ? null : Math.max(0, oldest);
                return List.of(new PgNotifyStatistics(channel, null, rs.getLong(1), rs.getLong(2), rs.getLong(3),
                        rs.getLong(6), rs.getLong(5), oldestAge, Instant.now()));
            }
        }
    }

    @Override
    public int requeueDeadLetters(Connection connection, String group, Long[] ids) throws SQLException {
        try (PreparedStatement requeue = connection.prepareStatement(sql.requeueDeadLetters)) {
            bindChannelAndIds(connection, requeue, ids);
            int requeued = 0;
            try (ResultSet rs = requeue.executeQuery()) {
                while (rs.next()) {
                    requeued++;
                }
            }
            return requeued;
        }
    }

    @Override
    public int purgeDeadLetters(Connection connection, String group, Long[] ids) throws SQLException {
        try (PreparedStatement purge = connection.prepareStatement(sql.purgeDeadLetters)) {
            bindChannelAndIds(connection, purge, ids);
            return purge.executeUpdate();
        }
    }

    private void bindChannelAndIds(Connection connection, PreparedStatement statement, Long[] ids)
            throws SQLException {
        statement.setString(1, channel);
        Array array = ids == null ? null : connection.createArrayOf("bigint", ids);
        statement.setArray(2, array);
        statement.setArray(3, array);
    }
}
