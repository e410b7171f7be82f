package dev.pgnotify.camel.browse;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;

/**
 * A stored message as browsing reads it. Every browse statement returns the same columns, in this order: id,
 * body_json, body_text, body_bytes, headers, created_at, message_key, attempts, last_error, group_name (null where the
 * table has no such column).
 *
 * @param body      as a consumer receives it: the JSON or text as a String, anything else as its bytes; null for none
 * @param headers   the stored headers, as JSON
 * @param attempts  dead letters: how many deliveries failed; null for a message still waiting
 * @param lastError the error of its last failed delivery, or null
 * @param group     mode=topic dead letters: the group it failed in; null otherwise
 */
public record BrowsedMessage(long id, Object body, String headers, Timestamp createdAt, String key, Integer attempts,
                             String lastError, String group) {

    /** Reads every row the statement returns (the caller bounded it). */
    public static List<BrowsedMessage> readAll(PreparedStatement statement) throws SQLException {
        List<BrowsedMessage> messages = new ArrayList<>();
        try (ResultSet rs = statement.executeQuery()) {
            while (rs.next()) {
                // the body as the consumers' work stores read it: one of the three columns is set at most
                Object body = rs.getString(2);
                if (body == null) {
                    body = rs.getString(3);
                }
                if (body == null) {
                    body = rs.getBytes(4);
                }
                int attempts = rs.getInt(8);
                Integer attemptsOrNull = rs.wasNull() ? null : attempts;
                messages.add(new BrowsedMessage(rs.getLong(1), body, rs.getString(5), rs.getTimestamp(6),
                        rs.getString(7), attemptsOrNull, rs.getString(9), rs.getString(10)));
            }
        }
        return messages;
    }
}
