package dev.pgnotify.camel.queue;

/**
 * The SQL of a queue's operations ({@link QueueAdmin}): a channel's figures, and the requeue and purge of its dead
 * letters. Values are always bound as parameters; the only names written into SQL text are the tables', validated and
 * quoted by {@link QueueTable}.
 */
final class QueueAdminSql {

    /**
     * A channel's figures, each count stopping at a cap: waiting (due), in flight (claimed: a future available_at
     * without an error), retrying (with one), the oldest message's age in milliseconds (not counting delayed ones),
     * dead letters, delayed (never claimed, due later). Parameters: channel and cap three times, channel, channel and
     * cap, channel and cap.
     */
    final String statistics;

    /**
     * Moves dead letters of a channel back into the queue as new messages, in their order (the table's trigger wakes
     * the consumers). Parameters: channel, ids or null for all (twice). Returns the new ids.
     */
    final String requeueDeadLetters;

    /** Parameters: channel, ids or null for all (twice). */
    final String purgeDeadLetters;

    QueueAdminSql(QueueTable table) {
        String t = table.sql();
        statistics = "SELECT " + capped(t, "q.available_at <= now()") + ", "
                     + capped(t, "q.available_at > now() AND q.last_error IS NULL AND q.attempts > 0") + ", "
                     + capped(t, "q.available_at > now() AND q.last_error IS NOT NULL") + ","
                     // a delayed message counts from when it fell due, and not before
                     + " (SELECT (extract(epoch FROM now() - CASE WHEN q.attempts = 0"
                     + " THEN greatest(q.created_at, q.available_at) ELSE q.created_at END) * 1000)::bigint"
                     + " FROM " + t + " q WHERE q.channel = ? AND NOT (q.attempts = 0 AND q.available_at > now())"
                     + " ORDER BY q.id LIMIT 1),"
                     + " (SELECT count(*) FROM (SELECT 1 FROM " + table.deadLetterSql() + " q WHERE q.channel = ?"
                     + " LIMIT ?) c), "
                     + capped(t, "q.available_at > now() AND q.attempts = 0");
        // the dead letters chosen, locked in the order of their key before any is deleted: two requeues or purges
        // (one of all, read in the table's page order, one by ids, through the key) locked them in opposite orders
        // and waited for each other, "deadlock detected"
        String chosen = "chosen AS (SELECT id, created_at FROM " + table.deadLetterSql() + " WHERE channel = ?"
                        + " AND (?::bigint[] IS NULL OR id = ANY(?)) ORDER BY id, created_at FOR UPDATE)";
        String deleteChosen = "DELETE FROM " + table.deadLetterSql() + " d USING chosen c"
                              + " WHERE d.id = c.id AND d.created_at = c.created_at";
        requeueDeadLetters = "WITH " + chosen + ", dead AS (" + deleteChosen
                             + " RETURNING d.id, d.created_at, d.channel, d.body_json, d.body_text, d.body_bytes,"
                             + " d.headers, d.message_key, d.priority)"
                             + " INSERT INTO " + t + " (channel, body_json, body_text, body_bytes, headers, message_key,"
                             + " priority)"
                             + " SELECT channel, body_json, body_text, body_bytes, headers, message_key, priority"
                             + " FROM dead"
                             + " ORDER BY id, created_at"
                             + " RETURNING id";
        purgeDeadLetters = "WITH " + chosen + " " + deleteChosen;
    }

    /** A count of the channel's messages meeting a condition, stopping at a cap. Parameters: channel, cap. */
    private static String capped(String table, String condition) {
        return "(SELECT count(*) FROM (SELECT 1 FROM " + table + " q WHERE q.channel = ? AND " + condition
               + " LIMIT ?) c)";
    }
}
