package dev.pgnotify.camel.topic;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.pgnotify.camel.browse.BrowsedMessage;
import dev.pgnotify.camel.browse.ChannelBrowse;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.produce.MessageCodec;

/**
 * mode=topic: what a group has not processed yet, for Camel's browsing tools, in the order the group receives it: the
 * remaining messages of its open items (cut earlier, by item id, each item's in its order), then the log's messages
 * not cut yet (as the lag view counts them, by transaction id). Each part reads an index in order and stops at the
 * limit; the log is read by id for the items' messages. Dead letters come from the dead-letter table's primary key
 * (channel, group, id).
 */
final class TopicBrowse implements ChannelBrowse {

    private final TopicResources topic;
    private final String channel;
    private final String group;
    private final String items;
    private final String uncut;
    private final String deadLetters;

    TopicBrowse(TopicResources topic, String channel, String group) {
        this.topic = topic;
        this.channel = channel;
        this.group = group;
        TopicTable table = topic.table();
        String log = table.sql();
        String columns = "m.id, m.body_json, m.body_text, m.body_bytes, m.headers, m.created_at, m.message_key,"
                         + " NULL::integer, ";
        // the group's open items, the first ones by id, then their messages not processed yet (progress counts those
        // done), at most the limit of them
        items = "SELECT " + columns + "w.last_error, NULL::text FROM (SELECT t.id AS item, t.last_error, u.id, u.n"
                + " FROM (SELECT t.id, t.ids, t.progress, t.last_error FROM " + table.itemsSql() + " t"
                + " WHERE t.channel = ? AND t.group_name = ? ORDER BY t.id LIMIT ?) t"
                + " CROSS JOIN LATERAL unnest(t.ids[t.progress + 1:]) WITH ORDINALITY AS u(id, n)"
                + " ORDER BY t.id, u.n LIMIT ?) w JOIN " + log + " m ON m.id = w.id ORDER BY w.item, w.n";
        // not cut yet: from the group's last cut on, and those of the transactions that cut saw in progress
        String lastCut = "(SELECT c.snapshot FROM " + table.cutsSql() + " c WHERE c.channel = ? AND c.group_name = ?"
                         + " ORDER BY c.seq DESC LIMIT 1)";
        uncut = "WITH l AS " + lastCut + " SELECT v.id, v.body_json, v.body_text, v.body_bytes, v.headers,"
                + " v.created_at, v.message_key, NULL::integer, NULL::text, NULL::text FROM ("
                + "(SELECT m.*  FROM l CROSS JOIN LATERAL (SELECT * FROM " + log + " r WHERE r.channel = ?"
                + " AND r.xid >= pg_snapshot_xmax(l.snapshot) ORDER BY r.xid, r.id LIMIT ?) m)"
                + " UNION ALL (SELECT m.* FROM l CROSS JOIN LATERAL pg_snapshot_xip(l.snapshot) AS x(xid)"
                + " CROSS JOIN LATERAL (SELECT * FROM " + log + " r WHERE r.channel = ? AND r.xid = x.xid LIMIT ?) m)"
                + ") v ORDER BY v.xid, v.id LIMIT ?";
        String dead = "SELECT d.id, d.body_json, d.body_text, d.body_bytes, d.headers, d.created_at, NULL::text,"
                      + " d.attempts, d.last_error, d.group_name FROM " + table.deadLetterSql() + " d"
                      + " WHERE d.channel = ?";
        // with a group, the key's order is the id's; without, group by group
        deadLetters = group != null ? dead + " AND d.group_name = ? ORDER BY d.id, d.created_at LIMIT ?"
                : dead + " ORDER BY d.group_name, d.id, d.created_at LIMIT ?";
    }

    @Override
    public List<BrowsedMessage> waiting(Connection connection, int limit) throws SQLException {
        if (group == null) {
            // a topic's messages wait for a group: without one there is nothing to say is waiting
            return List.of();
        }
        List<BrowsedMessage> messages = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(items)) {
            WorkRows.preferBinaryResults(statement);
            statement.setString(1, channel);
            statement.setString(2, group);
            statement.setInt(3, limit);
            statement.setInt(4, limit);
            messages.addAll(BrowsedMessage.readAll(statement));
        }
        if (messages.size() < limit) {
            try (PreparedStatement statement = connection.prepareStatement(uncut)) {
                WorkRows.preferBinaryResults(statement);
                int rest = limit - messages.size();
                statement.setString(1, channel);
                statement.setString(2, group);
                statement.setString(3, channel);
                statement.setInt(4, rest);
                statement.setString(5, channel);
                statement.setInt(6, rest);
                statement.setInt(7, rest);
                messages.addAll(BrowsedMessage.readAll(statement));
            }
        }
        return messages;
    }

    @Override
    public List<BrowsedMessage> deadLetters(Connection connection, int limit) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(deadLetters)) {
            WorkRows.preferBinaryResults(statement);
            int i = 1;
            statement.setString(i++, channel);
            if (group != null) {
                statement.setString(i++, group);
            }
            statement.setInt(i, limit);
            return BrowsedMessage.readAll(statement);
        }
    }

    @Override
    public MessageCodec codec() {
        return topic.codec();
    }
}
