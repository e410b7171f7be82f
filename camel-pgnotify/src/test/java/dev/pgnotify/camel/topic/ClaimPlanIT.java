package dev.pgnotify.camel.topic;

import java.sql.Connection;
import java.util.List;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.ClaimPlans;
import dev.pgnotify.camel.claim.ItemSql;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rule "Plans" (docs/claim-engine.md) for mode=topic: a group's claim, with and without the per-key steps, planned on
 * empty items as the consumer's settings make it, reads through indexes only (before, its generic plan scanned the items
 * table whole: seen in the benchmark's plans). Its fresh scan reads the claim index, whatever the statistics it is
 * planned on, and no other index can serve it; the sweep's scans of an id range read an index in index order.
 */
class ClaimPlanIT extends PgNotifyITSupport {

    private static final String TABLE = "claim_plan_topic";

    @Test
    void bothClaimVariantsArePlannedWithoutASequentialScan() throws Exception {
        String uri = "pgnotify:plans?mode=topic&topicTable=" + TABLE;
        template.sendBody(uri, "setup");
        server().execute("TRUNCATE " + TABLE + "_items");
        TopicResources topic = context.getEndpoint(uri, PgNotifyEndpoint.class).resources().get(TopicResources.class,
                () -> {
                    throw new IllegalStateException("the producer resolved the topic already");
                });
        try (Connection connection = server().connect()) {
            ClaimPlans.assertIndexesOnly(connection, topic.sql().acknowledgeAndClaim, "without keys");
            ClaimPlans.assertIndexesOnly(connection, topic.sql().acknowledgeAndClaimKeyed, "with keys");
            // rule "Lock order": writes of several items lock them in id order, as the claim's acknowledgements do
            String primaryKey = TABLE + "_items_pkey";
            ClaimPlans.assertIdOrder(connection, topic.sql().acknowledge, primaryKey, "acknowledge");
            ClaimPlans.assertIdOrder(connection, topic.sql().renewLeases, primaryKey, "renew");
            ClaimPlans.assertIdOrder(connection, topic.sql().releaseClaims, primaryKey, "release");
        }
    }

    /**
     * The fresh scan of a group reads the items' claim index (channel, group, id) in every state the statistics can
     * be in when the plan is made: truncated, emptied and analyzed, drained and vacuumed, and with the items of two
     * channels and two groups analyzed. Written with plain conditions, a plan made on drained items read them through
     * the primary key with the channel and group as filters. With the claim index gone (in a transaction rolled back)
     * nothing but a sequential scan could serve it, so no statistics can make another index look cheaper.
     */
    @Test
    void theFreshScanReadsTheClaimIndexWhateverTheStatistics() throws Exception {
        String uri = "pgnotify:plans?mode=topic&topicTable=" + TABLE;
        template.sendBody(uri, "setup");
        TopicResources topic = context.getEndpoint(uri, PgNotifyEndpoint.class).resources().get(TopicResources.class,
                () -> {
                    throw new IllegalStateException("the producer resolved the topic already");
                });
        String items = TABLE + "_items";
        String claimIndex = TABLE + "_items_claim";
        try (Connection connection = server().connect()) {
            for (String state : new String[] { "truncated", "emptied and analyzed", "drained", "backlog" }) {
                server().execute("TRUNCATE " + items);
                if (!state.equals("truncated")) {
                    server().execute("INSERT INTO " + items + " (channel, group_name, ids)"
                                     + " SELECT CASE WHEN g % 10 = 0 THEN 'other' ELSE 'plans' END,"
                                     + " CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, ARRAY[g]"
                                     + " FROM generate_series(1, 20000) g");
                    server().execute("ANALYZE " + items);
                }
                if (state.equals("emptied and analyzed")) {
                    server().execute("DELETE FROM " + items);
                    server().execute("ANALYZE " + items);
                } else if (state.equals("drained")) {
                    server().execute("DELETE FROM " + items);
                    server().execute("VACUUM ANALYZE " + items);
                }
                // the sweep's scans of an id range, after their settings: an index, in index order (SweepPlanIT)
                for (String sweep : new String[] { topic.sql().liveAfter, topic.sql().firstLive }) {
                    List<ClaimPlans.Scan> plan = ClaimPlans.freelyPlannedScans(connection, sweep, ItemSql.INDEX_ORDER);
                    assertEquals(1, plan.size(), state + ": " + plan);
                    assertTrue(plan.get(0).nodeType().startsWith("Index"), state + ": " + plan);
                }
                String[] claims = { topic.sql().acknowledgeAndClaim, topic.sql().acknowledgeAndClaimKeyed };
                for (String claim : claims) {
                    List<ClaimPlans.Scan> scans = ClaimPlans.genericScans(connection, claim, null);
                    List<ClaimPlans.Scan> fresh = scans.stream()
                            .filter(scan -> "fresh".equals(scan.cte()) && scan.writtenAlias().equals("q")).toList();
                    assertEquals(1, fresh.size(), state + ": " + scans);
                    assertEquals(claimIndex, fresh.get(0).index(), state + ": " + scans);
                    // the per-key check and the successors read the group's keyed items by design (open: rule
                    // "Plans"), but never every group's items through the primary key
                    for (ClaimPlans.Scan scan : scans) {
                        if (scan.writtenAlias().equals("e") || "successors".equals(scan.cte())) {
                            assertNotEquals(items + "_pkey", scan.index(), state + ": " + scan + " in " + scans);
                        }
                    }
                }
            }
            List<ClaimPlans.Scan> without = ClaimPlans.genericScans(connection, topic.sql().acknowledgeAndClaim,
                    "DROP INDEX " + claimIndex).stream()
                    .filter(scan -> "fresh".equals(scan.cte()) && scan.writtenAlias().equals("q")).toList();
            assertFalse(without.isEmpty());
            assertEquals("Seq Scan", without.get(0).nodeType(), "without the claim index: " + without);
        }
    }
}
