package dev.pgnotify.camel.queue;

/**
 * The SQL of per-key order in a queue's claim ({@link QueueSql}): the probe for an earlier message of a candidate's
 * key, and the look-up of the next message of an acknowledged one's key. Fragments of the claim statement: they read
 * its {@code bound} CTE, the candidate as {@code q}, the acknowledged message as {@code a}, and the claim's
 * {@code acknowledged} CTE. Each reads the key index only, and ends within the key (rule "Plans",
 * docs/claim-engine.md).
 */
final class KeyOrderSql {

    private KeyOrderSql() {
    }

    /**
     * Per-key order: a keyed message is claimable only while no earlier message of its key exists (waiting, in flight
     * or retrying), apart from those this very statement acknowledges ({@code acknowledging}: the statement has an
     * {@code acknowledged} CTE with keyed rows). One probe of the key index, from the statement's {@code bound} on (an
     * id below which nothing is unfinished): under an old snapshot elsewhere, the key's done messages stay in the index
     * as dead entries, and a probe from the key's start would walk them all, a little more on every claim. A message
     * without a key is not looked at.
     * <p>
     * Written so that only the key index can serve it (rule "Plans", docs/claim-engine.md): the probe takes the first
     * entry of the key index at or after (channel, key, bound) that this statement does not acknowledge, and the
     * message has an earlier one when that entry is of its channel and key and below it. Its conditions are row
     * comparisons led by the channel, which neither the primary key (id) can use nor the claim index's predicate
     * ({@code channel IS NOT NULL}) follows from, and {@code message_key IS NOT NULL}, the key index's own predicate.
     * Written as plain conditions on channel, key and id, a plan made on the statistics of a drained queue probed
     * through the primary key or the claim index with the key as a filter, reading every message in flight between
     * the frontier and the candidate: a keyed drain of 20,000 messages took 43-49 s instead of 6-7. The limit ends the
     * scan: a row comparison ends an index scan only where its first column decides (PostgreSQL 13 to 17), so a probe
     * bounded above by one read the rest of the channel's keyed messages whenever it found no earlier one. The probe
     * ends at the candidate at the latest (the statement sees it, and it lies past the bound): a candidate at or below
     * the bound (the bound is a sweep's measure, and a row may commit below it afterwards) is not probed.
     */
    static String noEarlierOfItsKey(String table, boolean acknowledging) {
        // (a message at or below the bound has none by definition; probed, it would read on past its key's end)
        return "(q.message_key IS NULL OR q.id <= (SELECT lo FROM bound)"
               // the first entry from the bound on: none (null), or one of another key or not below, is no earlier one
               + " OR (SELECT e.channel <> q.channel OR e.message_key <> q.message_key OR e.id >= q.id"
               + " FROM " + table + " e"
               + " WHERE (e.channel, e.message_key, e.id) >= (q.channel, q.message_key, (SELECT lo FROM bound))"
               + " AND e.message_key IS NOT NULL"
               // (not a join on the id: an ordering by id, useful to a merge join, would let the primary key serve
               // the probe)
               + (acknowledging ? " AND e.id <> ALL(ARRAY(SELECT a.id FROM acknowledged a))" : "")
               + " ORDER BY e.channel, e.message_key, e.id LIMIT 1) IS NOT FALSE)";
    }

    /**
     * Per-key order: the id of the next message of the key of an acknowledged message ({@code a}), if any. Only that
     * message can be its key's next to go (any later one has it as an earlier message); the claim then locks it
     * through the primary key, unless another holds it, it is not due, or the fresh scan's reach ends below it. Only
     * the key index can serve the look-up, as {@link #noEarlierOfItsKey}: planned on a drained queue's statistics, the
     * look-up written as plain conditions read the channel's messages through the claim index from the acknowledged
     * one to the end (200,050 rows, 7.2-7.5 s a claim, against 5.4 ms planned on the populated table).
     * <p>
     * Two probes, each ending within the key. The first reads the key's entries backwards from {@code reach} (an id the
     * next message must not pass, an expression; the largest bigint for none), to the last one the statement sees up to
     * there: a later message of the key, or the acknowledged one itself (deleted by this statement, still visible to
     * it). Only when that is a later message does the second read forwards from the acknowledged one to the next, which
     * then lies within the key and the reach; a next message beyond the reach costs one probe. A forward probe alone
     * ran on past the key's end whenever the acknowledged message was its key's last, over every entry it could not see
     * up to the first it could, each a heap fetch: an independent review measured 50,265 pages for one claim while
     * another session inserted 50,000 rows of another channel (the look-up with plain conditions: 2), the same under a
     * held snapshot with the following keys done. A row comparison bounding it above would not end it (PostgreSQL 13 to
     * 17 end a scan on a row comparison only where its first column decides).
     */
    static String nextOfKey(String table, String reach) {
        String lastSeen = "(SELECT l.id > a.id AND l.channel = a.channel AND l.message_key = a.message_key FROM ("
                          + "SELECT e.channel, e.message_key, e.id FROM " + table + " e"
                          + " WHERE (e.channel, e.message_key, e.id) <= (a.channel, a.message_key, " + reach + ")"
                          + " AND e.message_key IS NOT NULL ORDER BY e.channel DESC, e.message_key DESC, e.id DESC"
                          + " LIMIT 1) l)";
        String next = "(SELECT f.id FROM (SELECT e.channel, e.message_key, e.id FROM " + table + " e"
                      + " WHERE (e.channel, e.message_key, e.id) > (a.channel, a.message_key, a.id)"
                      + " AND e.message_key IS NOT NULL ORDER BY e.channel, e.message_key, e.id"
                      + " LIMIT 1) f WHERE f.channel = a.channel AND f.message_key = a.message_key)";
        return "(CASE WHEN " + lastSeen + " THEN " + next + " END)";
    }
}
