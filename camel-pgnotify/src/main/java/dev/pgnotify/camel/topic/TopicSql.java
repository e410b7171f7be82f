package dev.pgnotify.camel.topic;

import static dev.pgnotify.camel.claim.ItemSql.ASYNCHRONOUS_COMMIT;
import static dev.pgnotify.camel.claim.ItemSql.CLAIM_XID;
import static dev.pgnotify.camel.claim.ItemSql.OWN_XID;
import static dev.pgnotify.camel.produce.ProducerSettings.WAKE_UP_DEFERRED;
import static dev.pgnotify.camel.produce.ProducerSettings.WAKE_UP_SETTING;

import dev.pgnotify.camel.claim.ItemSql;

/**
 * The SQL of mode=topic, named by what it does. Values are always bound as parameters; the only names written into SQL
 * text are the topic's, validated and quoted by {@link TopicTable}. As in mode=queue, look-ups of items by id never
 * name the channel or group (only the primary key may serve them), so that no plan can walk the dead entries an old
 * snapshot leaves in the items' claim index.
 */
final class TopicSql {

    /**
     * Items given by id, each with the attempt it was claimed as and its fence (an item id drawn again is another
     * item). Parameters: ids, ids, attempts, ids, fences, ids.
     */
    private static final String BY_IDS_AND_ATTEMPTS = ItemSql.BY_IDS_AND_ATTEMPTS;

    /** One item, as above. Parameters: id, attempts, fence. */
    private static final String BY_ID_AND_ATTEMPT = ItemSql.BY_ID_AND_ATTEMPT;

    /** Each item's progress, by its position among the ids. Parameters: progress values, ids. */
    private static final String PROGRESS_OF = "(?::int[])[array_position(?::bigint[], q.id)]";

    /** Parameters: channel, body_json, body_text, body_bytes, headers, message key. Returns the id. */
    final String publishOne;

    /** Parameters: channel, headers, message key, json[], text[], bytea[]. Returns the ids in list order. */
    final String publishMany;

    /**
     * Registers a group and, the first time, its starting point: the current snapshot (only messages published from
     * now on), or the empty snapshot (everything the log still holds). Parameters: channel, group, channel, group,
     * whether to start from the earliest. Returns a row when the group was new.
     */
    final String registerGroup;

    /** Parameters: channel, group. */
    final String touchGroup;

    /**
     * Parameters: channel, group, messages per item, most messages per cut. Returns the messages cut, and whether the
     * limit cut it short (there is more to cut).
     */
    final String cut;

    /**
     * A cut, then {@link #acknowledgeAndClaim}, in one round trip and one transaction: the claim finds the items the
     * cut made. Parameters: the cut's, then the claim's; two results.
     */
    final String cutAndClaim;

    /** As {@link #cutAndClaim}, with {@link #acknowledgeAndClaimKeyed}. */
    final String cutAndClaimKeyed;

    /**
     * As {@link #acknowledgeAndClaim}, while the group has items with keys: after the fresh scan's parameters,
     * channel, group, acknowledged ids and batch size (items) for the items waiting for acknowledged keys.
     */
    final String acknowledgeAndClaimKeyed;

    /** Whether a group has items with keys. Parameters: channel, group. */
    final String hasKeyedItems;

    /**
     * Acknowledges (deletes) the items done and claims due ones of a group: those named by id (retries that fell
     * due, items the sweep found) and the first above the consumer's frontier, up to a number of messages. The first
     * row always comes back, with the statement's snapshot, the last item id drawn and the number of fresh candidates.
     * <p>
     * The first item's messages come with it (a row each, within the byte budget), as {@link #load} reads them, except
     * binary bodies: the result is text when a cut shares the round trip, and a bytea would travel as hex, twice its
     * size; those are loaded (in binary) when the consumer reaches them.
     * <p>
     * Parameters: acknowledged ids (twice), their attempts, acknowledged ids, their fences, acknowledged ids, whether
     * to take a transaction id, due ids (twice), acknowledged ids, batch
     * size (items), channel, group, channel, group, frontier, acknowledged ids, due ids, batch size (items), batch
     * size (messages), lease in milliseconds, the items' sequence,
     * byte budget, maxAttempts. Each item's rows say whether the fresh scan found it, and its fence (the last column).
     */
    final String acknowledgeAndClaim;

    /**
     * The messages at these ids, in the order given, up to a byte budget (at least one). Parameters: ids, budget.
     */
    final String load;

    /** Parameters: acknowledged ids (twice), their attempts, the ids again, their fences, the ids again. */
    final String acknowledge;

    /** Parameters: delay in milliseconds, error text, id, attempts, fence. */
    final String retryLater;

    /**
     * A message of a batch becomes an item of its own: a failed one, one delivery counted, due after its backoff; with
     * a key, also each later message of its key in the batch (none counted, due at once), so that the key's order
     * holds: they keep the batch's place (position) and wait, in id order, for the failed one. Parameters: channel,
     * group, message id, deliveries counted, delay in milliseconds, error text (or null), key (twice, or null), the
     * batch's position (or null), preceded by the batch's id, the attempts it was claimed as and its fence. Returns
     * the new item's id, or no row when the batch had been claimed again.
     */
    final String splitOut;

    /**
     * Copies a message into the dead-letter table with the group and the error; a single-message item is deleted with
     * it. Fenced by the attempts the item was claimed as and its fence. Parameters: item id, attempts, fence, group,
     * attempts, error text, message id, channel, its creation time as read (or null). Returns 1 when done, 0 when the
     * item had been claimed again.
     */
    final String deadLetter;

    /** Parameters: lease in milliseconds, progress values, ids, then ids (twice), attempts, ids, fences, ids. */
    final String renewLeases;

    /** Parameters: progress values, ids, then ids (twice), attempts, ids, fences, ids. */
    final String releaseClaims;

    /** A page of the sweep. Parameters: channel, group, after (exclusive), up to (inclusive), limit. */
    final String liveAfter;

    /** The lowest id of an item of the group in [from, up to]. Parameters: channel, group, from, up to. */
    final String firstLive;

    /** Parameters: ids (twice). */
    final String liveAmong;

    /**
     * The group's lag, as the lag view computes it: messages not processed yet, and the age of the oldest in
     * milliseconds. Parameters: the first item id that may be unfinished, channel, group.
     */
    final String groupLag;

    /** The groups of a channel. Parameters: channel. */
    final String groupsOfChannel;

    /**
     * A group's items: messages in flight (claimed: a future available_at without an error), messages waiting for a
     * retry (with one), and dead letters (stopping at a cap). Parameters: channel, group, cap, channel, group.
     */
    final String groupItems;

    /**
     * Gives dead letters of a group back to it as new items, while the log still holds their messages. Parameters:
     * channel, group, ids or null for all (twice).
     */
    final String requeueDeadLetters;

    /** Parameters: channel, group, ids or null for all (twice). */
    final String purgeDeadLetters;

    /**
     * Rotates the log and empties the slots no group needs any more. Parameters: retention, maximum retention, rotate
     * interval, in milliseconds. Returns a row per slot emptied, with the groups that had not read all of it.
     */
    final String maintain;

    TopicSql(TopicTable table) {
        String log = table.sql();
        String items = table.itemsSql();
        String deferWakeUp = "(SELECT set_config('" + WAKE_UP_SETTING + "', '" + WAKE_UP_DEFERRED + "', true)) AS s";
        publishOne = "INSERT INTO " + log + " (channel, body_json, body_text, body_bytes, headers, message_key)"
                     + " SELECT ?, ?::jsonb, ?, ?, ?::jsonb, ? FROM " + deferWakeUp + " RETURNING id";
        publishMany = "INSERT INTO " + log + " (channel, body_json, body_text, body_bytes, headers, message_key)"
                      + " SELECT ?, u.j::jsonb, u.t, u.b, ?::jsonb, ? FROM " + deferWakeUp + ","
                      + " unnest(?::text[], ?::text[], ?::bytea[]) WITH ORDINALITY AS u(j, t, b, n)"
                      + " ORDER BY u.n RETURNING id";
        registerGroup = "WITH registered AS (INSERT INTO " + table.groupsSql() + " (channel, group_name)"
                        + " VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING channel)"
                        + " INSERT INTO " + table.cutsSql() + " (channel, group_name, snapshot, messages)"
                        + " SELECT ?, ?, CASE WHEN ? THEN '1:1:'::pg_snapshot ELSE pg_current_snapshot() END, 0"
                        + " FROM registered RETURNING seq";
        touchGroup = "UPDATE " + table.groupsSql() + " SET seen_at = now() WHERE channel = ? AND group_name = ?";
        // the cut is bookkeeping the next cut can redo from the previous one: it needs no WAL flush of its own (a claim of
        // its items flushes it, as any later commit flushes every earlier one)
        cut = "SELECT c.messages, c.more FROM " + table.cutFunctionSql() + "(?, ?, ?, ?) AS c, (SELECT "
              + ASYNCHRONOUS_COMMIT + ") AS s";
        acknowledgeAndClaim = acknowledgeAndClaim(table, false);
        acknowledgeAndClaimKeyed = acknowledgeAndClaim(table, true);
        hasKeyedItems = "SELECT EXISTS (SELECT 1 FROM " + items + " WHERE channel = ? AND group_name = ?"
                        + " AND keys IS NOT NULL)";
        cutAndClaim = cut + "; " + acknowledgeAndClaim;
        cutAndClaimKeyed = cut + "; " + acknowledgeAndClaimKeyed;
        // a function: see TopicSchema.loadFunction
        load = "SELECT n, id, body_json, body_text, body_bytes, headers, created_at, is_binary, message_key FROM "
               + table.loadFunctionSql() + "(?, ?, true)";
        acknowledge = "DELETE FROM " + items + " q WHERE " + BY_IDS_AND_ATTEMPTS + " AND " + ASYNCHRONOUS_COMMIT
                      + " IS NOT NULL";
        retryLater = "UPDATE " + items + " q SET available_at = now() + ? * interval '1 millisecond', last_error = ?"
                     + " WHERE " + BY_ID_AND_ATTEMPT + " AND " + ASYNCHRONOUS_COMMIT + " IS NOT NULL";
        // fenced as deadLetter below: a holder whose lease ran out splits nothing out of its new holder's batch
        splitOut = "WITH held AS MATERIALIZED (SELECT q.id FROM " + items + " q WHERE " + BY_ID_AND_ATTEMPT
                   + " FOR UPDATE)"
                   + " INSERT INTO " + items + " (channel, group_name, ids, attempts, available_at, last_error, keys,"
                   + " position) SELECT ?, ?, ARRAY[?]::bigint[], ?, now() + ? * interval '1 millisecond', ?,"
                   + " CASE WHEN ?::text IS NULL THEN NULL ELSE ARRAY[?::text] END, ? FROM held RETURNING id";
        // fenced: only while the item is still claimed at these attempts (locked, so that no claim takes it
        // meanwhile); a holder whose lease ran out leaves the message to its new holder
        deadLetter = "WITH held AS MATERIALIZED (SELECT q.id, cardinality(q.ids) = 1 AS single FROM " + items + " q"
                     + " WHERE " + BY_ID_AND_ATTEMPT + " FOR UPDATE),"
                     + " settled AS (DELETE FROM " + items + " d USING held h WHERE d.id = h.id AND h.single),"
                     + " moved AS (INSERT INTO " + table.deadLetterSql()
                     + " (id, channel, group_name, body_json, body_text, body_bytes, headers, created_at, attempts,"
                     + " last_error)"
                     + " SELECT m.id, m.channel, ?, m.body_json, m.body_text, m.body_bytes, m.headers, m.created_at,"
                     + " ?, ? FROM " + log + " m WHERE m.id = ? AND m.channel = ? AND EXISTS (SELECT 1 FROM held)"
                     // one row, so that ON CONFLICT never meets its key twice: the message of that creation time
                     // first (after the log's sequence was moved back by hand, its id may name another message too),
                     // else the one the log holds under the id, so that a creation time that did not come back
                     // exactly as stored never leaves the message out while its item is deleted
                     + " ORDER BY m.created_at IS NOT DISTINCT FROM ?::timestamptz DESC LIMIT 1"
                     + " ON CONFLICT (channel, group_name, id, created_at) DO UPDATE SET body_json = excluded.body_json,"
                     + " body_text = excluded.body_text, body_bytes = excluded.body_bytes,"
                     + " headers = excluded.headers, created_at = excluded.created_at, attempts = excluded.attempts,"
                     + " last_error = excluded.last_error, failed_at = now())"
                     + " SELECT count(*) FROM held";
        renewLeases = "UPDATE " + items + " q SET available_at = now() + ? * interval '1 millisecond',"
                      + " progress = " + PROGRESS_OF + " WHERE " + BY_IDS_AND_ATTEMPTS + " AND "
                      + ASYNCHRONOUS_COMMIT + " IS NOT NULL";
        releaseClaims = "UPDATE " + items + " q SET available_at = now(), attempts = q.attempts - 1,"
                        + " progress = " + PROGRESS_OF + " WHERE " + BY_IDS_AND_ATTEMPTS;
        liveAfter = "SELECT q.id, " + ItemSql.DUE_IN + " FROM " + items
                    + " q WHERE q.channel = ? AND q.group_name = ? AND q.id > ? AND q.id <= ? ORDER BY q.id LIMIT ?";
        firstLive = "SELECT q.id FROM " + items + " q WHERE q.channel = ? AND q.group_name = ? AND q.id >= ?"
                    + " AND q.id <= ? ORDER BY q.id LIMIT 1";
        liveAmong = "SELECT q.id, " + ItemSql.DUE_IN + " FROM " + items + " q WHERE " + ItemSql.BY_IDS;
        groupLag = "SELECT lag.messages, (extract(epoch FROM lag.age) * 1000)::bigint FROM ("
                   + TopicFunctions.lagOf(table, " WHERE g.channel = ? AND g.group_name = ?", " AND t.id >= ?")
                   + ") lag";
        groupsOfChannel = "SELECT group_name FROM " + table.groupsSql() + " WHERE channel = ? ORDER BY group_name";
        String remaining = "cardinality(t.ids) - t.progress";
        groupItems = "SELECT coalesce(sum(" + remaining + ") FILTER (WHERE t.available_at > now() AND t.attempts > 0"
                     + " AND t.last_error IS NULL), 0),"
                     + " coalesce(sum(" + remaining + ") FILTER (WHERE t.available_at > now()"
                     + " AND t.last_error IS NOT NULL), 0),"
                     + " (SELECT count(*) FROM (SELECT 1 FROM " + table.deadLetterSql() + " d WHERE d.channel = ?"
                     + " AND d.group_name = ? LIMIT ?) c)"
                     + " FROM " + items + " t WHERE t.channel = ? AND t.group_name = ?";
        String deadOfGroup = " WHERE d.channel = ? AND d.group_name = ? AND (?::bigint[] IS NULL OR d.id = ANY(?))";
        // the dead letters chosen, locked in the order of their key before any is deleted: two requeues or purges
        // locking them in different orders (one of all in the table's page order, one by ids through the key) wait
        // for each other, "deadlock detected"
        String lockInOrder = " ORDER BY d.id, d.created_at FOR UPDATE OF d)";
        String deleteChosen = "DELETE FROM " + table.deadLetterSql() + " d USING chosen c WHERE d.channel = c.channel"
                              + " AND d.group_name = c.group_name AND d.id = c.id AND d.created_at = c.created_at";
        // an item names its messages by id, so the log must hold the dead letter's own message under that id and no
        // other: after the log's sequence was moved back by hand, the id may name a later message, which must not be
        // delivered in its place (the dead letter stays). A keyed message keeps its key, so that it waits for the
        // earlier items of its key as any item does
        requeueDeadLetters = "WITH chosen AS (SELECT d.channel, d.group_name, d.id, d.created_at FROM "
                             + table.deadLetterSql() + " d" + deadOfGroup
                             + " AND EXISTS (SELECT 1 FROM " + log + " m WHERE m.id = d.id"
                             + " AND m.created_at = d.created_at)"
                             + " AND NOT EXISTS (SELECT 1 FROM " + log + " o WHERE o.id = d.id"
                             + " AND o.created_at IS DISTINCT FROM d.created_at)" + lockInOrder + ","
                             + " dead AS (" + deleteChosen + " RETURNING d.channel, d.group_name, d.id, d.created_at)"
                             + " INSERT INTO " + items + " (channel, group_name, ids, keys)"
                             + " SELECT d.channel, d.group_name, ARRAY[d.id],"
                             + " (SELECT CASE WHEN m.message_key IS NULL THEN NULL ELSE ARRAY[m.message_key] END"
                             + " FROM " + log + " m WHERE m.id = d.id LIMIT 1) FROM dead d ORDER BY d.id, d.created_at";
        purgeDeadLetters = "WITH chosen AS (SELECT d.channel, d.group_name, d.id, d.created_at FROM "
                           + table.deadLetterSql() + " d" + deadOfGroup + lockInOrder + " " + deleteChosen;
        maintain = "SELECT * FROM " + table.maintainFunctionSql() + "(? * interval '1 millisecond',"
                   + " ? * interval '1 millisecond', ? * interval '1 millisecond')";
    }

    /**
     * The claim, in two variants: {@code keyed} while the group has items with keys, so that the items waiting for the
     * keys acknowledged here are claimed in the same statement; the plain one spares a topic without keys that work.
     */
    private static String acknowledgeAndClaim(TopicTable table, boolean keyed) {
        String items = table.itemsSql();
        // per-key order: an item with keys is claimable only while no earlier item of the group (by position, then
        // id: a message split out of a batch keeps the batch's place) has any of its keys, apart from those this very
        // statement acknowledges; an item without keys is not looked at
        String noEarlierOfItsKeys = "(q.keys IS NULL OR NOT EXISTS (SELECT 1 FROM " + items + " e"
                                    + " WHERE e.channel = q.channel AND e.group_name = q.group_name AND e.keys IS NOT NULL"
                                    + " AND (coalesce(e.position, e.id), e.id) < (coalesce(q.position, q.id), q.id)"
                                    // (not a join on the id: an order by id, useful to a merge join, would give
                                    // the primary key a path to the check, reading every group's items)
                                    + " AND e.keys && q.keys AND e.id <> ALL(ARRAY(SELECT a.id FROM acknowledged a))))";
        String candidate = "q.id, cardinality(q.ids) - q.progress AS size";
        // lock order, as in mode=queue (QueueSql): the acknowledgements are deleted before any row is locked (settings
        // reads them to their end, and gates every locking scan), so two claims cannot deadlock
        return "WITH acknowledged AS (DELETE FROM " + items + " q WHERE " + BY_IDS_AND_ATTEMPTS
                              + (keyed ? " RETURNING q.id, q.keys" : " RETURNING q.id") + "),"
                              + " settings AS MATERIALIZED (SELECT " + ASYNCHRONOUS_COMMIT + ","
                              + " (SELECT count(*) FROM acknowledged) AS acknowledged, " + CLAIM_XID + "),"
                              + " named AS (SELECT " + candidate + " FROM " + items + " q"
                              + " WHERE " + ItemSql.BY_IDS + " AND q.available_at <= now() AND q.id <> ALL(?)"
                              + " AND EXISTS (SELECT 1 FROM settings) AND " + noEarlierOfItsKeys
                              + " ORDER BY q.id LIMIT ? FOR UPDATE SKIP LOCKED),"
                              + " fresh AS (SELECT " + candidate + " FROM " + items + " q"
                              // only the claim index can serve it, whatever the statistics it is planned on (rule
                              // "Plans", docs/claim-engine.md): the channel as "= ANY", not an equality the planner
                              // takes as a constant, so that the order asked for is (channel, id), which the primary
                              // key cannot give, and the frontier in a row comparison led by the channel, which the
                              // primary key cannot use. Written as "channel = ? AND group_name = ? AND id > ?", a
                              // plan made on drained items (PostgreSQL 14 to 18) read them through the primary key,
                              // the channel and group as filters: every group's items past the frontier, whatever
                              // their channel. The equalities on channel and group end the scan at the group's end
                              + " WHERE q.channel = ANY(ARRAY[?::text]) AND q.group_name = ?"
                              + " AND (q.channel, q.group_name, q.id) > (?::text, ?::text, ?::bigint)"
                              + " AND q.available_at <= now()"
                              + " AND q.id <> ALL(?) AND q.id <> ALL(?) AND EXISTS (SELECT 1 FROM settings)"
                              + " AND " + noEarlierOfItsKeys + " ORDER BY q.channel, q.group_name, q.id LIMIT ?"
                              + " FOR UPDATE SKIP LOCKED),"
                              // per-key order: the items that were waiting for the keys acknowledged here, wherever
                              // they lie (the frontier may have passed them)
                              + (keyed ? " released AS MATERIALIZED (SELECT array_agg(DISTINCT k) AS keys"
                                         + " FROM acknowledged a, unnest(a.keys) AS k),"
                                         + " successors AS (SELECT " + candidate + " FROM " + items + " q"
                                         + " WHERE q.channel = ? AND q.group_name = ? AND q.keys IS NOT NULL"
                                         + " AND (SELECT r.keys FROM released r) IS NOT NULL"
                                         + " AND q.keys && (SELECT r.keys FROM released r) AND q.available_at <= now()"
                                         + " AND q.id <> ALL(?) AND " + noEarlierOfItsKeys
                                         + " ORDER BY coalesce(q.position, q.id), q.id LIMIT ? FOR UPDATE SKIP LOCKED),"
                                         + " candidates AS (SELECT id, size FROM named UNION SELECT id, size FROM fresh"
                                         + " UNION SELECT id, size FROM successors),"
                                       : " candidates AS (SELECT id, size FROM named UNION ALL SELECT id, size FROM"
                                         + " fresh),")
                              // up to a batch of messages, and at least one item
                              + " within AS (SELECT id FROM (SELECT id, sum(size) OVER (ORDER BY id) - size AS before"
                              + " FROM candidates) c WHERE before < ?),"
                              // last_error cleared: an item with an error and a future available_at is one waiting
                              // for its retry, one without is in a consumer's hands
                              + " claimed AS (UPDATE " + items + " q SET attempts = q.attempts + 1, last_error = NULL,"
                              + " available_at = now() + ? * interval '1 millisecond'"
                              + " WHERE q.id = ANY(ARRAY(SELECT id FROM within))"
                              + " RETURNING q.id, q.ids, q.progress, q.attempts, pg_current_xact_id_if_assigned()::text"
                              + " AS xid, " + ItemSql.FENCE + " AS fence)"
                              // an item's ids only on its first row (whatever its first message's position: the
                              // log may have emptied that one)
                              + " SELECT c.id, CASE WHEN row_number() OVER (PARTITION BY c.id ORDER BY b.n) = 1"
                              + " THEN c.ids END, c.progress, c.attempts,"
                              + " c.xid, m.snapshot, m.last_id, m.fresh,"
                              + " b.n, b.id, b.body_json, b.body_text, b.body_bytes, b.headers, b.created_at,"
                              + " b.is_binary, b.message_key, c.id = ANY(ARRAY(SELECT f.id FROM fresh f)) AS from_fresh,"
                              + " m.claim_xid, c.fence"
                              + " FROM (SELECT pg_current_snapshot()::text AS snapshot,"
                              + " pg_sequence_last_value(?::regclass) AS last_id,"
                              + " (SELECT count(*) FROM fresh) AS fresh,"
                              + " " + OWN_XID + ") m LEFT JOIN claimed c ON true"
                              // the first item's messages come with the claim, within the byte budget (not those of an
                              // item past maxAttempts: a body that crashes the consumer must not be read again)
                              + " LEFT JOIN LATERAL (SELECT b.n, b.id, b.body_json, b.body_text, b.body_bytes,"
                              + " b.headers, b.created_at, b.is_binary, b.message_key FROM " + table.loadFunctionSql()
                              // a condition on the outer row only, kept in the subquery (OFFSET 0: never pulled up
                              // into the join's filter, which runs after the call): a gate before the call, so that the
                              // function is not called for the other items, nor for a claim that found none (0.35 ms a
                              // call)
                              + "(c.ids[c.progress + 1:], ?, false) b WHERE c.id = (SELECT min(f.id) FROM claimed f)"
                              + " AND c.attempts <= ? OFFSET 0) b ON true"
                              + " ORDER BY c.id, b.n";
    }
}
