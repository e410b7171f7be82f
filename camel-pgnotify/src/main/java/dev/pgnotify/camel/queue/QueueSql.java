package dev.pgnotify.camel.queue;

import static dev.pgnotify.camel.claim.ItemSql.ASYNCHRONOUS_COMMIT;
import static dev.pgnotify.camel.claim.ItemSql.CLAIM_XID;
import static dev.pgnotify.camel.claim.ItemSql.OWN_XID;
import static dev.pgnotify.camel.produce.ProducerSettings.WAKE_UP_DEFERRED;
import static dev.pgnotify.camel.produce.ProducerSettings.WAKE_UP_SETTING;

import dev.pgnotify.camel.claim.ItemSql;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.produce.ProducerSettings;

/**
 * The SQL of mode=queue, named by what it does: the statements of one queue table. Values are always
 * bound as parameters; the only names written into SQL text are the table's, validated and quoted by
 * {@link QueueTable}.
 */
final class QueueSql {

    /**
     * Rows given by id, each with the attempt it was claimed as and its fence (fencing: a delivery whose lease ran out
     * and was claimed again cannot acknowledge or renew the new one, nor one whose id was drawn again the new row).
     * Parameters: ids, ids, their attempts, ids, their fences, ids (see {@link ItemSql#BY_IDS_AND_ATTEMPTS}).
     * <p>
     * Look-ups by id never name the channel: the claim index, partial on {@code channel IS NOT NULL}, then does not
     * apply and the primary key serves them. While an old snapshot elsewhere keeps vacuum from removing acknowledged
     * rows, the statistics say the table is nearly empty while its indexes are full of dead entries; every index scan
     * then looks equally cheap to the planner, and it once chose to walk the whole (channel, id) index for each id.
     */
    private static final String BY_IDS_AND_ATTEMPTS = ItemSql.BY_IDS_AND_ATTEMPTS;

    /** One row, as above. Parameters: id, attempts, fence (see {@link ItemSql#BY_ID_AND_ATTEMPT}). */
    private static final String BY_ID_AND_ATTEMPT = ItemSql.BY_ID_AND_ATTEMPT;

    /** How long the sweep that forgets deduplication ids waits for a row lock at most (see forgetDeduplications). */
    private static final String FORGET_LOCK_TIMEOUT = "100ms";

    /** When a message expires: the instant given, else now plus the time to live given, else never. */
    private static final String EXPIRES_AT = "coalesce(?::timestamptz, now() + ?::bigint * interval '1 millisecond')";

    /** When a message falls due: the instant given, else now plus the delay given (none: now). */
    private static final String AVAILABLE_AT
            = "coalesce(?::timestamptz, now() + coalesce(?::bigint, 0) * interval '1 millisecond')";

    /** How a row's body size is measured for maxBytesPerPoll. */
    private static final String BODY_SIZE
            = "coalesce(octet_length(q.body_text), octet_length(q.body_bytes), pg_column_size(q.body_json), 0)";

    /**
     * Parameters: channel, body_json, body_text, body_bytes, headers, message key, expiry instant, time to live in
     * milliseconds, deduplication id, due instant, delay in milliseconds (the last six may be null), priority,
     * deduplication window in milliseconds (text). Returns the id, or no row when the deduplication id was taken (the
     * trigger skipped the row).
     */
    final String insertOne;

    /**
     * Parameters: channel, headers, message key, expiry instant, time to live in milliseconds, deduplication id (null:
     * a batch has none), due instant, delay in milliseconds, priority, deduplication window (for every element),
     * json[], text[], bytea[]. Returns the ids in list order.
     */
    final String insertMany;

    /**
     * Acknowledges (deletes) the processed messages and claims the next due ones of a channel, in one round trip.
     * It claims the due messages named by id (retries that fell due, messages the sweep found) and the first due
     * messages above the consumer's frontier, so that it never walks the rows vacuum has not removed yet below it
     * (see dev.pgnotify.camel.claim.ClaimCursor). A message past its last attempt comes back without its body, so that it can be
     * dead-lettered even when the body is what kills the consumer. The first row always comes back, with the
     * statement's snapshot, the last id drawn from the table's sequence and the number of fresh candidates; the
     * claimed rows carry the claim's transaction id.
     * <p>
     * Parameters: the id below which nothing is unfinished (0: unknown), acknowledged ids (twice), their attempts,
     * acknowledged ids again, their fences, acknowledged ids again, whether to take a transaction id, due ids (twice),
     * acknowledged ids, batch size, channel, frontier, channel, acknowledged ids, due ids, batch size, byte budget,
     * batch size, lease in milliseconds, attempts allowed (three times), due ids, the sequence. Each row says whether
     * the fresh scan found it (rather than a look-up by id, a key's succession or the priority index), and its
     * priority; the rows come highest priority first, then by id; the first row also says which fresh candidate was the
     * first left out (by the batch, the byte budget or priorities), if any. Each claimed row comes with its fence (the
     * last column).
     */
    final String acknowledgeAndClaim;

    /**
     * As {@link #acknowledgeAndClaim}, when some acknowledged message has a key: after the fresh scan's parameters, the
     * batch size (how far the successors reach); without the due ids before the sequence. Same columns.
     */
    final String acknowledgeAndClaimKeyed;

    /**
     * As {@link #acknowledgeAndClaim}, while the channel has prioritized messages: before the fresh scan's parameters
     * (channel, frontier, ...), channel (twice), acknowledged ids and batch size for the priority scan, then the batch
     * size again and the frontier (whether the claim is crowded); without the due ids before the sequence. Same
     * columns, but the number of fresh candidates is null when the fresh scan did not run: the claim was crowded (see
     * {@link #acknowledgeAndClaim(String, boolean, boolean)}).
     */
    final String acknowledgeAndClaimPrioritized;

    /** Both of the above: the parameters of the prioritized one (its successors are not bounded). */
    final String acknowledgeAndClaimPrioritizedKeyed;

    /** Whether a channel has prioritized messages (waiting or not). Parameters: channel. */
    final String hasPriorities;

    /** Parameters: acknowledged ids (twice), their attempts, the ids again, their fences, the ids again. */
    final String acknowledge;

    /**
     * Acknowledges one message inside the application's transaction (transacted=true): no change to that
     * transaction's durability, unlike {@link #acknowledge}. Parameters: id, attempts, fence. Returns no row when the message
     * was claimed again; else one, with the id of the next message of its key (or null).
     */
    final String acknowledgeInTransaction;

    /** Parameters: delay in milliseconds, error text, id, attempts, fence. */
    final String retryLater;

    /**
     * Parameters: id, attempts, fence, error text. Returns one row when the message was still claimed at these attempts (no
     * row: claimed again since), with, for a keyed message, the id of the next message of its key (which may go now).
     */
    final String moveToDeadLetter;

    /** Parameters: lease in milliseconds, ids (twice), attempts, the ids again, fences, the ids again. */
    final String renewLeases;

    /** Parameters: ids (twice), attempts, the ids again, fences, the ids again. */
    final String releaseClaims;

    /**
     * The first messages of a channel in an id range, in id order, whatever their state, each with the milliseconds
     * until it falls due (zero or less: due): a page of the sweep below the frontier. Parameters: channel, after
     * (exclusive), up to (inclusive), limit.
     */
    final String liveAfter;

    /** The lowest id of a message of a channel in [from, up to]. Parameters: channel, from, up to. */
    final String firstLive;

    /**
     * The messages among these ids that still exist, each with the milliseconds until it falls due. Parameters: ids
     * (twice).
     */
    final String liveAmong;

    /**
     * Forgets deduplication ids whose window is over, a bounded number at a time, waiting for no producer: an id a
     * producer holds is left to a later sweep. After its settings, in the same round trip and transaction: execute it
     * with {@link WorkRows#executeWrite}.
     */
    final String forgetDeduplications;

    /**
     * In id order, how far a claim's candidates can reach: when the fresh scan filled a batch, the batch is the
     * lowest ids among them all, so a successor above the last fresh one would be locked only to be left out (as much
     * work again as the claim itself, measured: a keyed drain locked and probed 200 rows per claim of 100). Left
     * alone, it lies above the new frontier (at most the last fresh id claimed), where the next fresh scan finds it.
     * Else no bound. Parameters: batch size.
     */
    private static final String REACH_OF_FULL_FRESH = "coalesce((SELECT CASE WHEN count(*) >= ? THEN max(r.id) END"
                                                      + " FROM fresh r), 9223372036854775807)";

    QueueSql(QueueTable table) {
        String t = table.sql();
        insertOne = "INSERT INTO " + t + " (channel, body_json, body_text, body_bytes, headers, message_key, expires_at,"
                    + " dedup_id, available_at, priority)"
                    + " SELECT ?, ?::jsonb, ?, ?, ?::jsonb, ?, " + EXPIRES_AT + ", ?, " + AVAILABLE_AT + ", ?"
                    + " FROM (SELECT set_config('" + WAKE_UP_SETTING + "', '" + WAKE_UP_DEFERRED + "', true),"
                    + " set_config('" + ProducerSettings.DEDUPLICATION_WINDOW_SETTING + "', ?, true)) AS s"
                    + " RETURNING id";
        insertMany = "INSERT INTO " + t + " (channel, body_json, body_text, body_bytes, headers, message_key,"
                     + " expires_at, dedup_id, available_at, priority)"
                     + " SELECT ?, u.j::jsonb, u.t, u.b, ?::jsonb, ?, " + EXPIRES_AT + ", ?, " + AVAILABLE_AT + ", ?"
                     + " FROM (SELECT set_config('" + WAKE_UP_SETTING + "', '" + WAKE_UP_DEFERRED + "', true),"
                     + " set_config('" + ProducerSettings.DEDUPLICATION_WINDOW_SETTING + "', ?, true)) AS s,"
                     + " unnest(?::text[], ?::text[], ?::bytea[]) WITH ORDINALITY AS u(j, t, b, n)"
                     + " ORDER BY u.n RETURNING id";
        acknowledgeAndClaim = acknowledgeAndClaim(t, false, false);
        acknowledgeAndClaimKeyed = acknowledgeAndClaim(t, true, false);
        acknowledgeAndClaimPrioritized = acknowledgeAndClaim(t, false, true);
        acknowledgeAndClaimPrioritizedKeyed = acknowledgeAndClaim(t, true, true);
        hasPriorities = "SELECT EXISTS (SELECT 1 FROM " + t + " WHERE channel = ? AND priority > 0)";
        acknowledge = "DELETE FROM " + t + " q WHERE " + BY_IDS_AND_ATTEMPTS + " AND " + ASYNCHRONOUS_COMMIT
                      + " IS NOT NULL";
        acknowledgeInTransaction = "WITH gone AS (DELETE FROM " + t + " q WHERE " + BY_ID_AND_ATTEMPT
                                   + " RETURNING q.id, q.channel, q.message_key)"
                                   // per-key order: the next message of its key, to claim once this commits
                                   + " SELECT (SELECT n.id FROM " + t + " n WHERE g.message_key IS NOT NULL"
                                   + " AND n.channel = g.channel AND n.message_key = g.message_key AND n.id > g.id"
                                   + " ORDER BY n.id LIMIT 1) FROM gone g";
        retryLater = "UPDATE " + t + " q SET available_at = now() + ? * interval '1 millisecond', last_error = ?"
                     + " WHERE " + BY_ID_AND_ATTEMPT + " AND " + ASYNCHRONOUS_COMMIT + " IS NOT NULL";
        moveToDeadLetter = "WITH dead AS (DELETE FROM " + t + " q WHERE " + BY_ID_AND_ATTEMPT
                           + " RETURNING id, channel, body_json, body_text, body_bytes, headers, created_at, attempts,"
                           + " message_key, priority),"
                           + " moved AS (INSERT INTO " + table.deadLetterSql()
                           + " (id, channel, body_json, body_text, body_bytes, headers, created_at, attempts, last_error,"
                           + " message_key, priority)"
                           + " SELECT id, channel, body_json, body_text, body_bytes, headers, created_at, attempts, ?,"
                           + " message_key, priority FROM dead"
                           // the same message dead-lettered again (put back by hand with its id and time):
                           // replaced; another that drew its id again is a row of its own
                           + " ON CONFLICT (id, created_at) DO UPDATE SET channel = excluded.channel,"
                           + " body_json = excluded.body_json, body_text = excluded.body_text,"
                           + " body_bytes = excluded.body_bytes, headers = excluded.headers,"
                           + " created_at = excluded.created_at, attempts = excluded.attempts,"
                           + " last_error = excluded.last_error, failed_at = now(), message_key = excluded.message_key,"
                           + " priority = excluded.priority)"
                           // one row when the message was still this holder's; with the next message of its key
                           // (per-key order: it may go now)
                           + " SELECT CASE WHEN d.message_key IS NOT NULL THEN (SELECT n.id FROM " + t + " n"
                           + " WHERE n.channel = d.channel AND n.message_key = d.message_key AND n.id > d.id"
                           + " ORDER BY n.id LIMIT 1) END FROM dead d";
        renewLeases = "UPDATE " + t + " q SET available_at = now() + ? * interval '1 millisecond'"
                      + " WHERE " + BY_IDS_AND_ATTEMPTS + " AND " + ASYNCHRONOUS_COMMIT + " IS NOT NULL";
        releaseClaims = "UPDATE " + t + " q SET available_at = now(), attempts = q.attempts - 1"
                        + " WHERE " + BY_IDS_AND_ATTEMPTS;
        liveAfter = "SELECT q.id, " + ItemSql.DUE_IN + " FROM " + t
                    + " q WHERE q.channel = ? AND q.id > ? AND q.id <= ? ORDER BY q.id LIMIT ?";
        firstLive = "SELECT q.id FROM " + t + " q WHERE q.channel = ? AND q.id >= ? AND q.id <= ? ORDER BY q.id LIMIT 1";
        liveAmong = "SELECT q.id, " + ItemSql.DUE_IN + " FROM " + t + " q WHERE " + ItemSql.BY_IDS;
        // waits for no producer (SKIP LOCKED): an id a producer holds is one it is taking again, and is left to a
        // later sweep. Waiting for it, the delete held the other ids it had locked meanwhile: a producer's transaction
        // taking one of those next (several sends with deduplication ids in one transaction) waited for the sweep while
        // the sweep waited for it, "deadlock detected". The rows are locked before the delete and tested again on the
        // version locked (a producer that took one again after this statement's snapshot and committed has set it to
        // 'infinity'). SKIP LOCKED still waits where a row's newer version is locked (one updated and committed while
        // the statement looked at it, then locked again by a producer refused the id; found by an independent review,
        // with a debugger, and under load with deadlock_timeout at 1 ms): there the sweep gives up after
        // FORGET_LOCK_TIMEOUT, well before a deadlock is looked for (deadlock_timeout, 1 s by default), and tries again
        // at the next sweep
        forgetDeduplications = "SELECT set_config('lock_timeout', '" + FORGET_LOCK_TIMEOUT + "', true);"
                               + " WITH expired AS MATERIALIZED (SELECT channel, dedup_id FROM "
                               + table.deduplicationSql() + " WHERE until < now() LIMIT 1000 FOR UPDATE SKIP LOCKED)"
                               + " DELETE FROM " + table.deduplicationSql() + " d USING expired e"
                               + " WHERE d.channel = e.channel AND d.dedup_id = e.dedup_id AND d.until < now()";
    }

    /**
     * The claim, in variants: {@code keyed} when some acknowledged message has a key, so that the next message of each
     * such key is claimed in the same statement; {@code prioritized} while the channel has prioritized messages. The
     * plain one spares unkeyed streams without priorities that work (measured: the keyed steps cost a queue without
     * keys about 0.3 ms per claim of 100; the priority steps cost a stream without priorities 0.33 ms of server time
     * per claim when the claim was planned on every execution, a fifth of a backlog drain's throughput).
     * <p>
     * Priority: the due messages of the highest priority come first, from the priority index (only prioritized
     * messages are in it, whatever their place relative to the frontier); the claim takes candidates in order of
     * priority, then id, up to the batch size and the byte budget, and returns them in that order.
     * <p>
     * A crowded claim: the priority scan filled a batch, and the frontier lies at or above the bound less one, so that
     * every id the fresh scan could reach (above the frontier) is one the priority scan reached too (from the bound
     * on). Then the fresh scan does not run, since it could add nothing the claim would take: a fresh candidate of
     * priority 0 ranks below every message of the batch; one of a higher priority passed the same conditions in the
     * priority scan (due, not acknowledged here, not locked, first of its key), so it is in the batch already or
     * ranks below all of it (the priority scan takes the highest first; but for a message another claim held during
     * the priority scan and let go just after, which waits for the next claim, as one skipped while locked does).
     * Run anyway, it would only lock its candidates, the same waiting messages claim after claim while a backlog of
     * higher priorities drains, since the frontier cannot pass a candidate left out. The claim then reports no fresh
     * count, and the frontier stays where it is. With the frontier below the bound less one, ids between them are the
     * fresh scan's alone (the bound is a sweep's measure, and a row may commit below it afterwards: an id drawn before
     * its insert, a restarted sequence), so the claim is never crowded.
     * <p>
     * Indexes: each scan that names the channel is written so that only its own index can serve it, whatever the
     * statistics a plan is made on (rule "Plans", docs/claim-engine.md). A generic plan made while the table looked
     * empty (new, or drained and analyzed: a row count of 0 scales to 0 however large the table grows until the next
     * ANALYZE or VACUUM) costs every index the same, and with {@code q.channel = ? AND q.id > ?} it read the fresh
     * messages through the primary key with the channel as a filter: an idle channel's claim read another channel's
     * backlog of 200,000 (84 ms a claim), a prioritized claim the whole backlog, sorted (about 100 ms). So the channel
     * and the id appear only in row comparisons led by the channel, which the primary key cannot use, and in the
     * order: the fresh scan as {@code (channel, id) > (c, frontier) AND channel <= c ORDER BY channel, id}, which the
     * key and priority indexes cannot serve (their predicates do not follow from it); the priority scan as
     * {@code (channel, id) >= (c, bound) AND (channel, priority) <= (c, max) AND priority > 0 ORDER BY channel,
     * priority DESC, id}, whose conditions on the channel are all row comparisons, from which the claim index's
     * predicate does not follow. Each scan still ends at the channel's last entry: a row comparison ends an index scan
     * where its first column decides, as {@code channel <= c} does. {@code ClaimPlanIT} checks every scan's index in
     * every table state.
     */
    private static String acknowledgeAndClaim(String t, boolean keyed, boolean prioritized) {
        String noEarlier = KeyOrderSql.noEarlierOfItsKey(t, keyed);
        String candidate = "q.id" + (prioritized ? ", q.priority" : "") + ", " + BODY_SIZE + " AS size";
        String columns = prioritized ? "id, priority, size" : "id, size";
        String order = prioritized ? "priority DESC, id" : "id";
        // lock order: the acknowledgements are deleted before this statement locks any row. Every scan that locks
        // rows is gated by "EXISTS (SELECT 1 FROM settings)", a one-time filter evaluated before its first row, and
        // settings reads acknowledged to its end. A DELETE may wait for a row another claim locked; the locking scans
        // (SKIP LOCKED) never wait: so a claim waits only in its deletes, for claims past theirs, which wait for
        // nobody, and two claims cannot deadlock. (Run last, as a data-modifying CTE nobody reads is, the DELETE
        // waited for a row a concurrent claim had locked by re-checking it, while holding rows that claim's own
        // DELETE waited for: "deadlock detected" in a drain by four consumers.)
        return "WITH bound AS MATERIALIZED (SELECT ?::bigint AS lo),"
               + " acknowledged AS (DELETE FROM " + t + " q WHERE " + BY_IDS_AND_ATTEMPTS
               + (keyed ? " RETURNING q.id, q.channel, q.message_key" : " RETURNING q.id") + "),"
               + " settings AS MATERIALIZED (SELECT " + ASYNCHRONOUS_COMMIT + ","
               + " (SELECT count(*) FROM acknowledged) AS acknowledged, " + CLAIM_XID + "),"
               // due messages named by id (they are the channel's): point look-ups on the primary key
               + " named AS (SELECT " + candidate + " FROM " + t + " q"
               + " WHERE " + ItemSql.BY_IDS + " AND q.available_at <= now()"
               + " AND q.id <> ALL(?) AND EXISTS (SELECT 1 FROM settings) AND " + noEarlier
               + " ORDER BY q.id LIMIT ? FOR UPDATE SKIP LOCKED),"
               // prioritized messages, highest first, wherever they lie
               + (prioritized ? " prioritized AS (SELECT " + candidate + " FROM " + t + " q"
                                // (from the bound on: the index walk then passes the entries of messages done
                                // without reading them, the dead ones an old snapshot elsewhere keeps included)
                                // (only the priority index can serve it: see "Indexes" above)
                                + " WHERE (q.channel, q.id) >= (?::text, (SELECT lo FROM bound))"
                                + " AND (q.channel, q.priority) <= (?::text, 2147483647) AND q.priority > 0"
                                + " AND q.available_at <= now() AND q.id <> ALL(?)"
                                + " AND EXISTS (SELECT 1 FROM settings) AND " + noEarlier
                                + " ORDER BY q.channel, q.priority DESC, q.id LIMIT ? FOR UPDATE SKIP LOCKED),"
                                // a full batch of them outranks whatever the fresh scan would add, when the
                                // priority scan reached all the fresh scan could (see above)
                                + " crowded AS MATERIALIZED (SELECT count(*) >= ? AND (SELECT lo FROM bound) - 1 <= ?"
                                + " AS filled FROM prioritized),"
                       : "")
               // fresh messages: an index range scan that starts at the frontier
               + " fresh AS (SELECT " + candidate + " FROM " + t + " q"
               // (only the claim index can serve it: see "Indexes" above)
               + " WHERE (q.channel, q.id) > (?::text, ?::bigint) AND q.channel <= ?::text AND q.available_at <= now()"
               + " AND q.id <> ALL(?) AND q.id <> ALL(?) AND EXISTS (SELECT 1 FROM settings)"
               + (prioritized ? " AND NOT (SELECT filled FROM crowded)" : "")
               + " AND " + noEarlier + " ORDER BY q.channel, q.id LIMIT ? FOR UPDATE SKIP LOCKED),"
               // per-key order: the next message of each key acknowledged here, wherever it lies
               // (the frontier may have passed it while it waited for its turn)
               + (keyed ? " successors AS (SELECT " + (prioritized ? "n.id, n.priority, n.size" : "n.id, n.size")
                          + " FROM acknowledged a CROSS JOIN LATERAL ("
                          + "SELECT " + candidate + " FROM " + t + " q"
                          + " WHERE q.id = "
                          + KeyOrderSql.nextOfKey(t, prioritized ? "9223372036854775807" : REACH_OF_FULL_FRESH)
                          + " AND q.available_at <= now() AND " + noEarlier
                          + " FOR UPDATE SKIP LOCKED) n"
                          // gated as the other locking scans (lock order, above), not only by running after them
                          + " WHERE a.message_key IS NOT NULL AND EXISTS (SELECT 1 FROM settings)),"
                        : "")
               // the sources overlap only through prioritized and successor rows
               + " candidates AS (SELECT " + columns + " FROM named"
               + (keyed || prioritized ? " UNION" : " UNION ALL") + " SELECT " + columns + " FROM fresh"
               + (prioritized ? " UNION SELECT " + columns + " FROM prioritized" : "")
               + (keyed ? " UNION SELECT " + columns + " FROM successors" : "") + "),"
               // at most a batch, highest priority first: a prioritized message is never left for a later claim
               // while a lower one is taken
               + " within_budget AS (SELECT id FROM ("
               + "SELECT id, sum(size) OVER w - size AS before, row_number() OVER w AS n FROM candidates"
               + " WINDOW w AS (ORDER BY " + order + ")) c"
               + " WHERE before < ? AND n <= ?),"
               // last_error cleared: a message with an error and a future available_at is one
               // waiting for its retry, one without is in a consumer's hands
               + " claimed AS (UPDATE " + t + " q SET attempts = q.attempts + 1, last_error = NULL,"
               + " available_at = now() + ? * interval '1 millisecond'"
               + " WHERE q.id = ANY(ARRAY(SELECT id FROM within_budget))"
               + " RETURNING q.id, CASE WHEN q.attempts <= ? THEN q.body_json::text END AS body_json,"
               + " CASE WHEN q.attempts <= ? THEN q.body_text END AS body_text,"
               + " CASE WHEN q.attempts <= ? THEN q.body_bytes END AS body_bytes,"
               + " q.headers::text AS headers, q.attempts, q.created_at,"
               + " pg_current_xact_id_if_assigned()::text AS xid, q.message_key,"
               + " q.expires_at < now() AS outlived, q.priority, " + ItemSql.FENCE + " AS fence)"
               + " SELECT c.id, c.body_json, c.body_text, c.body_bytes, c.headers, c.attempts,"
               + " c.created_at, c.xid, m.snapshot, m.last_id, m.fresh, c.message_key, c.outlived,"
               + (keyed || prioritized ? " f.id IS NOT NULL" : " c.id <> ALL(?)") + " AS from_fresh, c.priority,"
               + " m.fresh_cut, m.claim_xid, c.fence"
               + " FROM ("
               + "SELECT pg_current_snapshot()::text AS snapshot,"
               + " pg_sequence_last_value(?::regclass) AS last_id,"
               // null: the fresh scan did not run (crowded), so it examined nothing
               + (prioritized ? " CASE WHEN (SELECT filled FROM crowded) THEN NULL ELSE (SELECT count(*) FROM fresh) END"
                       : " (SELECT count(*) FROM fresh)") + " AS fresh,"
               + " " + OWN_XID + ","
               // in id order (no priorities), the fresh messages claimed are the first ones: none was left out
               + (prioritized ? " (SELECT min(f.id) FROM fresh f WHERE NOT EXISTS (SELECT 1 FROM within_budget w"
                                + " WHERE w.id = f.id))"
                       : " NULL::bigint") + " AS fresh_cut) m"
               + " LEFT JOIN claimed c ON true"
               + (keyed || prioritized ? " LEFT JOIN fresh f ON f.id = c.id" : "")
               + " ORDER BY " + (prioritized ? "c.priority DESC, c.id" : "c.id");
    }

    /** The claim for these circumstances (see {@link #acknowledgeAndClaim(String, boolean, boolean)}). */
    String acknowledgeAndClaim(boolean keyed, boolean prioritized) {
        return prioritized ? keyed ? acknowledgeAndClaimPrioritizedKeyed : acknowledgeAndClaimPrioritized
                : keyed ? acknowledgeAndClaimKeyed : acknowledgeAndClaim;
    }
}
