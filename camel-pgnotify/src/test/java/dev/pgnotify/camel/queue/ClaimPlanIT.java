package dev.pgnotify.camel.queue;

import java.sql.Connection;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.ClaimPlans;
import org.junit.jupiter.api.Test;

/**
 * Rule "Plans" (docs/claim-engine.md): a claim is planned once per connection and its plan never scans a table whole,
 * whatever the table held when the plan was made. Every variant of the queue's claim, planned on an empty table as the
 * consumer's settings make it (truncated, analyzed empty, and drained), reads through indexes only, in index order; a
 * sequential scan in such a plan would read the whole table, dead rows included, on every claim once a backlog or an
 * old snapshot has filled it, and a bitmap scan every row past the frontier, sorted before the claim's limit (the
 * benchmark's job-queue shape: 16 workers, 16,000 jobs/s offered, claims of 0.3-0.6 s, about 40 s of stall until
 * autovacuum's analyze had the plan made again). And each scan reads its own index, the only one that can serve it:
 * planned on the statistics of a drained queue (a row count of 0), a scan written with plain conditions on channel
 * and id read through the primary key with the channel as a filter, so that its cost grew with the backlog: an idle
 * channel's claim read another channel's backlog of 200,000 (84 ms a claim), a keyed and prioritized claim's look-up
 * of a key's next message the whole channel (7.2-7.5 s a claim).
 */
class ClaimPlanIT extends PgNotifyITSupport {

    private static final String TABLE = "claim_plan_queue";

    @Test
    void everyClaimVariantIsPlannedWithoutASequentialScan() throws Exception {
        QueueResources queue = resources();
        server().execute("TRUNCATE " + TABLE);
        try (Connection connection = server().connect()) {
            assertEveryVariantIndexesOnly(connection, queue, "truncated");
            // a queue drained to nothing, then analyzed (autovacuum does it between bursts): the statistics say empty
            server().execute("ANALYZE " + TABLE);
            assertEveryVariantIndexesOnly(connection, queue, "analyzed empty");
            // drained: filled and analyzed, emptied, vacuumed and analyzed (its old column statistics kept, no rows)
            server().execute("INSERT INTO " + TABLE + " (channel, body_text, message_key, priority)"
                             + " SELECT 'plans', 'm' || g, 'k' || (g % 100), g % 3 FROM generate_series(1, 20000) g");
            server().execute("ANALYZE " + TABLE);
            server().execute("DELETE FROM " + TABLE);
            server().execute("VACUUM ANALYZE " + TABLE);
            assertEveryVariantIndexesOnly(connection, queue, "drained");
        }
    }

    /**
     * Every scan of every claim variant reads the index meant for it, in every state the table's statistics can be in
     * when the plan is made (see {@link ClaimIndexes}); the version matrix checks the drained state on every supported
     * PostgreSQL major.
     */
    @Test
    void everyScanOfEveryClaimVariantReadsItsOwnIndexWhateverTheStatistics() throws Exception {
        QueueResources queue = resources();
        try (Connection connection = server().connect()) {
            for (ClaimIndexes.State state : ClaimIndexes.State.values()) {
                ClaimIndexes.prepare(server(), queue, state);
                ClaimIndexes.assertEveryScanReadsItsOwnIndex(connection, queue, state.toString());
            }
        }
    }

    /** Why the plans above cannot change with the statistics (see {@link ClaimIndexes#assertNoOtherIndexCanServe}). */
    @Test
    void noOtherIndexCanServeAChannelsScans() throws Exception {
        QueueResources queue = resources();
        try (Connection connection = server().connect()) {
            ClaimIndexes.prepare(server(), queue, ClaimIndexes.State.TRUNCATED);
            ClaimIndexes.assertNoOtherIndexCanServe(connection, queue);
        }
    }

    private QueueResources resources() throws Exception {
        String uri = "pgnotify:plans?table=" + TABLE;
        template.sendBody(uri, "setup");
        return ClaimIndexes.resources(context.getEndpoint(uri, PgNotifyEndpoint.class));
    }

    /**
     * Rule "Lock order": acknowledgements sent alone, lease renewals and releases lock the items in id order, as a
     * claim's acknowledgements do, on an empty table and on one with a backlog alike (planned freely, a renewal of many
     * items read them through a bitmap scan, in page order; against a claim: "deadlock detected").
     */
    @Test
    void writesOfSeveralItemsReachThemThroughThePrimaryKeyOnly() throws Exception {
        QueueResources queue = resources();
        try (Connection connection = server().connect()) {
            for (String state : new String[] { "empty", "backlog" }) {
                server().execute("TRUNCATE " + TABLE);
                if (state.equals("backlog")) {
                    server().execute("INSERT INTO " + TABLE + " (channel, body_text)"
                                     + " SELECT 'plans', 'm' || g FROM generate_series(1, 20000) g");
                }
                server().execute("ANALYZE " + TABLE);
                String primaryKey = TABLE + "_pkey";
                ClaimPlans.assertIdOrder(connection, queue.sql().acknowledge, primaryKey, state + ", acknowledge");
                ClaimPlans.assertIdOrder(connection, queue.sql().renewLeases, primaryKey, state + ", renew");
                ClaimPlans.assertIdOrder(connection, queue.sql().releaseClaims, primaryKey, state + ", release");
            }
        }
    }

    private static void assertEveryVariantIndexesOnly(Connection connection, QueueResources queue, String state)
            throws Exception {
        for (boolean keyed : new boolean[] { false, true }) {
            for (boolean prioritized : new boolean[] { false, true }) {
                ClaimPlans.assertIndexesOnly(connection, queue.sql().acknowledgeAndClaim(keyed, prioritized),
                        state + ", keyed=" + keyed + ", prioritized=" + prioritized);
            }
        }
    }
}
