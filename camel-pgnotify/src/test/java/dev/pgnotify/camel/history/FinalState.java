package dev.pgnotify.camel.history;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The database after the drain: what is still waiting (queue rows, or a topic group's unfinished batches), the dead
 * letters, and each topic group's lag. Read once the consumers have stopped.
 */
public record FinalState(List<Remaining> remaining, List<DeadLetter> deadLetters, Map<String, Long> topicLag,
                         Set<String> inTopicLog) {

    /**
     * A message still waiting: in the queue table, in an unfinished batch of a topic group, or in the topic's log
     * not yet cut for the group ({@code where}: queue, batch, uncut).
     */
    public record Remaining(String token, long id, String group, int attempts, long availableAtMicros, String key,
                            String where) {
    }

    /** A dead letter: the message's token, id, group ("" in mode=queue), attempts and when it failed. */
    public record DeadLetter(String token, long id, String group, int attempts, long failedAtMicros, String error) {
    }

    static FinalState read(Db db, HistoryTarget target) throws SQLException {
        try (Connection connection = db.connect()) {
            return target.topic() ? readTopic(connection, target) : readQueue(connection, target);
        }
    }

    private static FinalState readQueue(Connection connection, HistoryTarget target) throws SQLException {
        List<Remaining> remaining = new ArrayList<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT id, body_text, attempts, available_at,"
                                                                   + " message_key FROM " + target.table()
                                                                   + " WHERE channel = ? ORDER BY id")) {
            query.setString(1, target.channel());
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    remaining.add(new Remaining(PlannedMessage.tokenOf(rs.getString(2)), rs.getLong(1), "",
                            rs.getInt(3), micros(rs.getTimestamp(4)), rs.getString(5), "queue"));
                }
            }
        }
        return new FinalState(remaining, deadLetters(connection, target, "''"), Map.of(), Set.of());
    }

    private static FinalState readTopic(Connection connection, HistoryTarget target) throws SQLException {
        // the unfinished part of each batch: its ids after its progress
        Map<Long, List<Object[]>> waiting = new LinkedHashMap<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT group_name, ids, progress, attempts,"
                                                                   + " available_at FROM " + target.itemsTable()
                                                                   + " WHERE channel = ? ORDER BY id")) {
            query.setString(1, target.channel());
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    Array array = rs.getArray(2);
                    Long[] ids = (Long[]) array.getArray();
                    for (int i = rs.getInt(3); i < ids.length; i++) {
                        waiting.computeIfAbsent(ids[i], k -> new ArrayList<>()).add(new Object[] { rs.getString(1),
                                rs.getInt(4), micros(rs.getTimestamp(5)) });
                    }
                }
            }
        }
        Map<Long, String[]> messages = new HashMap<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT id, body_text, message_key FROM "
                                                                   + target.table() + " WHERE id = ANY(?)")) {
            query.setArray(1, connection.createArrayOf("bigint", waiting.keySet().toArray()));
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    messages.put(rs.getLong(1), new String[] { rs.getString(2), rs.getString(3) });
                }
            }
        }
        List<Remaining> remaining = new ArrayList<>();
        waiting.forEach((id, items) -> {
            String[] message = messages.getOrDefault(id, new String[] { "(log row gone)", null });
            for (Object[] item : items) {
                remaining.add(new Remaining(PlannedMessage.tokenOf(message[0]), id, (String) item[0], (Integer) item[1],
                        (Long) item[2], message[1], "batch"));
            }
        });
        Map<String, Long> lag = new LinkedHashMap<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT group_name, messages FROM " + target.table()
                                                                   + "_lag WHERE channel = ? ORDER BY group_name")) {
            query.setString(1, target.channel());
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    lag.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        for (String group : lag.keySet()) {
            remaining.addAll(uncut(connection, target, group));
        }
        Set<String> inLog = new HashSet<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT body_text FROM " + target.table()
                                                                   + " WHERE channel = ?")) {
            query.setString(1, target.channel());
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    inLog.add(PlannedMessage.tokenOf(rs.getString(1)));
                }
            }
        }
        return new FinalState(remaining, deadLetters(connection, target, "group_name"), lag, inLog);
    }

    /** The log's messages the group has not cut yet: committed after its last cut's snapshot, or in progress then. */
    private static List<Remaining> uncut(Connection connection, HistoryTarget target, String group)
            throws SQLException {
        List<Remaining> uncut = new ArrayList<>();
        try (PreparedStatement query = connection.prepareStatement(
                "SELECT r.id, r.body_text, r.message_key FROM " + target.table() + " r, LATERAL (SELECT c.snapshot FROM "
                + target.table() + "_cuts c WHERE c.channel = r.channel AND c.group_name = ? ORDER BY c.seq DESC"
                + " LIMIT 1) l WHERE r.channel = ? AND (r.xid >= pg_snapshot_xmax(l.snapshot)"
                + " OR r.xid IN (SELECT pg_snapshot_xip(l.snapshot))) ORDER BY r.id")) {
            query.setString(1, group);
            query.setString(2, target.channel());
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    uncut.add(new Remaining(PlannedMessage.tokenOf(rs.getString(2)), rs.getLong(1), group, 0, 0,
                            rs.getString(3), "uncut"));
                }
            }
        }
        return uncut;
    }

    private static List<DeadLetter> deadLetters(Connection connection, HistoryTarget target, String group)
            throws SQLException {
        List<DeadLetter> dead = new ArrayList<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT id, " + group + ", body_text, attempts,"
                                                                   + " failed_at, last_error FROM "
                                                                   + target.deadLetterTable()
                                                                   + " WHERE channel = ? ORDER BY failed_at")) {
            query.setString(1, target.channel());
            try (ResultSet rs = query.executeQuery()) {
                while (rs.next()) {
                    dead.add(new DeadLetter(PlannedMessage.tokenOf(rs.getString(3)), rs.getLong(1), rs.getString(2),
                            rs.getInt(4), micros(rs.getTimestamp(5)), rs.getString(6)));
                }
            }
        }
        return dead;
    }

    static long micros(Timestamp timestamp) {
        return timestamp == null ? 0 : Math.floorDiv(timestamp.getTime(), 1000) * 1_000_000 + timestamp.getNanos() / 1000;
    }

    /** Whether the queue (or every topic group) has nothing left to deliver. */
    public boolean drained() {
        return remaining.isEmpty() && topicLag.values().stream().allMatch(messages -> messages == 0);
    }
}
