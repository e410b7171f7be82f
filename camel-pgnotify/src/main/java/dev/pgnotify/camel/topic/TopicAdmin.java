package dev.pgnotify.camel.topic;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import dev.pgnotify.camel.PgNotifyStatistics;
import dev.pgnotify.camel.admin.ChannelAdmin;
import dev.pgnotify.camel.listen.ListenSql;

/** mode=topic: each group's figures on a channel, and its dead letters. */
final class TopicAdmin implements ChannelAdmin {

    private final TopicResources topic;
    private final String channel;
    /** The endpoint's group, or null: then every group of the channel. */
    private final String group;

    TopicAdmin(TopicResources topic, String channel, String group) {
        this.topic = topic;
        this.channel = channel;
        this.group = group;
    }

    @Override
    public List<PgNotifyStatistics> statistics(Connection connection) throws SQLException {
        List<PgNotifyStatistics> all = new ArrayList<>();
        for (String name : groups(connection, group)) {
            long lagMessages = 0;
            Long lagAge = null;
            try (PreparedStatement lag = connection.prepareStatement(topic.sql().groupLag)) {
                lag.setLong(1, 0);
                lag.setString(2, channel);
                lag.setString(3, name);
                try (ResultSet rs = lag.executeQuery()) {
                    if (rs.next()) {
                        lagMessages = rs.getLong(1);
                        long age = rs.getLong(2);
                        lagAge = rs.wasNull() ? null : Math.max(0, age);
                    }
                }
            }
            try (PreparedStatement items = connection.prepareStatement(topic.sql().groupItems)) {
                items.setString(1, channel);
                items.setString(2, name);
                items.setLong(3, PgNotifyStatistics.COUNT_CAP);
                items.setString(4, channel);
                items.setString(5, name);
                try (ResultSet rs = items.executeQuery()) {
                    rs.next();
                    all.add(new PgNotifyStatistics(channel, name, lagMessages, rs.getLong(1), rs.getLong(2), 0,
                            rs.getLong(3), lagMessages == 0 ? null : lagAge, Instant.now()));
                }
            }
        }
        return all;
    }

    @Override
    public int requeueDeadLetters(Connection connection, String group, Long[] ids) throws SQLException {
        int requeued = eachGroup(connection, group, ids, topic.sql().requeueDeadLetters);
        if (requeued > 0) {
            // new items wake nobody by themselves: the group's consumers are told, as after a cut
            try (PreparedStatement wake = connection.prepareStatement(ListenSql.NOTIFY_ONE)) {
                wake.setString(1, topic.table().wakeUpChannel());
                wake.setString(2, channel);
                wake.execute();
            }
        }
        return requeued;
    }

    @Override
    public int purgeDeadLetters(Connection connection, String group, Long[] ids) throws SQLException {
        return eachGroup(connection, group, ids, topic.sql().purgeDeadLetters);
    }

    /**
     * Runs a statement on the dead letters of a group (the one given, else the endpoint's, else every group of the
     * channel); returns the rows it changed, in all.
     */
    private int eachGroup(Connection connection, String group, Long[] ids, String sql) throws SQLException {
        int changed = 0;
        for (String name : groups(connection, group != null ? group : this.group)) {
            try (PreparedStatement statement = connection.prepareStatement(sql)) {
                statement.setString(1, channel);
                statement.setString(2, name);
                Array array = ids == null ? null : connection.createArrayOf("bigint", ids);
                statement.setArray(3, array);
                statement.setArray(4, array);
                changed += statement.executeUpdate();
            }
        }
        return changed;
    }

    private List<String> groups(Connection connection, String only) throws SQLException {
        if (only != null) {
            return List.of(only);
        }
        List<String> groups = new ArrayList<>();
        try (PreparedStatement list = connection.prepareStatement(topic.sql().groupsOfChannel)) {
            list.setString(1, channel);
            try (ResultSet rs = list.executeQuery()) {
                while (rs.next()) {
                    groups.add(rs.getString(1));
                }
            }
        }
        return groups;
    }
}
