package dev.pgnotify.camel.claim;

import dev.pgnotify.camel.connection.ReadTransaction;

/**
 * SQL fragments every mode's work store writes the same way: items by id, fenced by the attempt they were claimed as
 * and by when their rows were created, how long until an item falls due, and the durability of a consumer's own
 * bookkeeping.
 */
public final class ItemSql {

    /**
     * Makes a consumer's own bookkeeping (claims, acknowledgements, retries) commit without waiting for the WAL flush.
     * Safe for at-least-once delivery: if the server crashes before the flush, a lost claim or acknowledgement only
     * means the message is delivered again.
     */
    public static final String ASYNCHRONOUS_COMMIT = "set_config('synchronous_commit', 'off', true)";

    /**
     * Transaction-local: no sequential and no bitmap scans, so that the statement reads through indexes in index order
     * (rules "Plans" and "Lock order", docs/claim-engine.md). Shared by the settings below.
     */
    private static final String INDEX_ORDER_ONLY = "set_config('enable_seqscan', 'off', true),"
                                                   + " set_config('enable_bitmapscan', 'off', true)";

    /**
     * A statement sent in the same round trip and transaction before a claim ({@link WorkRows#withSettings}): the claim
     * then gets a generic plan, made once per connection once pgjdbc prepares it on the server, reading in index order
     * only. Left to itself PostgreSQL planned the claim on most executions (its generic plan looks dearer than the
     * custom ones, as the sizes of the array parameters are unknown): 1.8 ms of planning for a claim that then ran in
     * 1.7, half of a consumer's server time (docs/benchmark/report.md). A generic plan is made while the table holds
     * whatever it holds then (a new queue, or one just drained and analyzed: nearly empty) and kept until the table's
     * statistics or size in pg_class change (ANALYZE, VACUUM), so the two scans that read a whole table or backlog
     * whatever the parameters are ruled out:
     * <ul>
     *   <li>no sequential scan: it would read the whole table, dead rows included, on every claim;</li>
     *   <li>no bitmap scan: it returns the rows past the frontier in no order, so the claim reads and sorts all of them
     *       before its limit. Chosen for an empty table, it read and sorted the whole backlog on every claim once
     *       one had built up: 0.3-0.6 s a claim in the benchmark's job-queue shape (16 workers offered 16,000 jobs/s),
     *       consumers down to a fifth of their rate for about 40 s, until autovacuum's analyze had the plan made again
     *       (docs/benchmark/job-queue.md). An index scan returns them in id order and stops at the limit.</li>
     * </ul>
     * This does not pin each scan to its index: planned on statistics of an empty or drained queue, a scan may still go
     * through the primary key with its channel or key as a filter, and its cost then grows with the backlog (open:
     * docs/claim-engine.md, rule "Plans").
     * Never JIT-compiled: a generic plan's estimate grows with the table (its limits are parameters), so on a server
     * with JIT a keyed claim of a 200,000 backlog was compiled on every call, 4.2 ms of its 6.0 (PostgreSQL 15,
     * docs/production.md); pgnotify's own pools have JIT off for their sessions, an application's DataSource and a
     * pooler's connections need not. Transaction-local: nothing stays on a connection that an application's pool lends
     * to others.
     */
    public static final String PLANNED_ONCE = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), "
                                              + INDEX_ORDER_ONLY + ", " + ReadTransaction.JIT_OFF;

    /**
     * A statement sent in the same round trip and transaction before the sweep's scans of an id range
     * ({@link WorkRows#inIndexOrder}): index scans only, planned freely otherwise. Their generic plan, which PostgreSQL
     * may settle on after a few executions on a connection and keeps until the table's statistics change, was made on
     * the statistics of the moment. Without these settings it was a sequential scan for a queue drained and vacuumed,
     * on PostgreSQL 14 to 18 (SweepPlanIT, VersionMatrixIT), which read the whole table, dead rows included, for every
     * page of every sweep: on PostgreSQL 15, a page of 10,000 once a backlog of 1,000,000 had built up took 78-92 ms
     * and 24,998 buffers, against 5.6-5.9 ms and 281 with them; and a bitmap scan for one emptied and analyzed (every
     * row of the range read and sorted before the page's limit). They may still go through the primary key with the
     * channel as a filter, which reads the other channels' rows of the range on a table several channels share.
     */
    public static final String INDEX_ORDER = "SELECT " + INDEX_ORDER_ONLY;

    /**
     * What a claim is preceded by where the connection prepares nothing on the server (behind a pooler in transaction
     * mode), in the same round trip and transaction: JIT, sequential and bitmap scans off, as in {@link #PLANNED_ONCE},
     * and the plan left custom. A custom plan is made with the frontier's value and the table's current size, so it
     * rarely misjudges the rows past the frontier; but it may still find a scan in page order cheapest (a small table,
     * statistics from a drained queue), and the claim's acknowledgements must be deleted in id order whatever the plan
     * (see {@link #IN_ID_ORDER}).
     */
    public static final String PLANNED_EACH_TIME = "SELECT " + INDEX_ORDER_ONLY + ", " + ReadTransaction.JIT_OFF;

    /**
     * A statement sent in the same round trip and transaction before one that writes several items by id outside a
     * claim (acknowledgements sent alone, lease renewals, releases; {@link WorkRows#inIdOrder}): its only way to the
     * rows is then the primary key, which yields them in ascending id order, as the settings of a claim
     * ({@link #PLANNED_ONCE}, {@link #PLANNED_EACH_TIME}) make its acknowledgements' delete do. Such writes wait for
     * rows another holds (a claim deleting an acknowledged item while a lease renewal of the same consumer renews it,
     * say), and two statements that lock overlapping rows in one order cannot deadlock. Left to the planner, a renewal
     * of many items read them through a bitmap scan, in the order of the table's pages: against a claim deleting the
     * same items in id order, "deadlock detected" (the benchmark's job-queue shape, 16 workers).
     */
    public static final String IN_ID_ORDER = "SELECT " + INDEX_ORDER_ONLY;

    /**
     * Rows given by id, through the primary key. Parameters: the ids, twice. An empty list skips the scan (a one-time
     * filter): for {@code id = ANY('{}')} the planner may otherwise walk the whole claim index, partial on
     * {@code channel IS NOT NULL}, which is full of dead entries while an old snapshot elsewhere keeps vacuum from
     * removing them, and which the statistics then describe as nearly empty.
     */
    public static final String BY_IDS = "cardinality(?::bigint[]) > 0 AND q.id = ANY(?::bigint[])";

    /**
     * A row's identity beyond its id ({@code q}): when it was created, in microseconds since the epoch, which no row
     * of the same id created later shares. Ids can be drawn again: after a failover to an asynchronous standby (the
     * new primary's sequence lacks what the old one drew in the lag), after a crash that lost asynchronously committed
     * inserts, or after a sequence restarted by hand. A consumer that claimed a message before, and acknowledges it
     * after, must not settle another message that has since taken its id (docs/claim-engine.md, rule "Fence").
     * Computed the same way wherever it is read and compared, on the server, as a bigint: never converted through a
     * client's time zone. A creation time a publisher wrote by hand outside what a bigint of microseconds holds
     * (infinity, or past the year 100,000) counts as 0, so that it cannot fail every claim; such a row is fenced by
     * its id and attempt only.
     */
    public static final String FENCE = "CASE WHEN isfinite(q.created_at) AND q.created_at < '100000-01-01 00:00:00+00'"
                                       + " THEN (extract(epoch FROM q.created_at) * 1000000)::bigint ELSE 0 END";

    /**
     * Rows given by id, each with the attempt it was claimed as and its {@link #FENCE} (fencing: a delivery whose lease
     * ran out and was claimed again cannot acknowledge or renew the new one, nor can one whose id was drawn again
     * settle the new row). Parameters: ids, ids, their attempts, ids, their fences, ids.
     */
    public static final String BY_IDS_AND_ATTEMPTS
            = BY_IDS + " AND q.attempts = (?::int[])[array_position(?::bigint[], q.id)]"
              + " AND " + FENCE + " = (?::bigint[])[array_position(?::bigint[], q.id)]";

    /**
     * One row given by id, with the attempt it was claimed as and its {@link #FENCE}. Parameters: id, attempts, fence.
     */
    public static final String BY_ID_AND_ATTEMPT = "q.id = ? AND q.attempts = ? AND " + FENCE + " = ?";

    /**
     * The claim's own transaction id, as text: assigned by the claim when it is asked to (a boolean parameter), which
     * it is whenever the cursor holds a reading to pair with its snapshot (see {@code ClaimCursor}). A snapshot's xmax
     * is one past the newest transaction that has <em>ended</em>, so the newest transactions in progress are in no
     * list of it; only an id assigned after the reading bounds them from above. A claim that acknowledges or claims
     * something has one anyway; an idle claim asks for one only while a reading waits to be paired. In a settings CTE,
     * after the acknowledgements; reported with {@link #OWN_XID}.
     */
    public static final String CLAIM_XID = "CASE WHEN ?::boolean THEN pg_current_xact_id()::text END AS claim_xid";

    /**
     * The claim's transaction id as its first row reports it: the one {@link #CLAIM_XID} took, else the one its
     * acknowledgements took (null when it has none yet: it then pairs nothing, which only settles ids later). Any
     * transaction id of the claim was assigned after the readings it pairs with, which is all the cursor needs.
     */
    public static final String OWN_XID
            = "coalesce((SELECT s.claim_xid FROM settings s), pg_current_xact_id_if_assigned()::text) AS claim_xid";

    /** How long until an item ({@code q}) falls due, in milliseconds: zero or less when it is due. */
    public static final String DUE_IN = "ceil(extract(epoch FROM q.available_at - now()) * 1000)::bigint";

    private ItemSql() {
    }
}
