package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.claim.ClaimPlans;
import dev.pgnotify.camel.claim.ItemSql;
import dev.pgnotify.camel.test.PgTestServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rule "Plans" (docs/claim-engine.md): each scan of a queue's claim reads its own index, and no other index can serve
 * it. Planned on the statistics of a drained queue (a row count of 0), scans written with plain conditions on channel
 * and id read through the primary key with the channel as a filter, their cost growing with the backlog: an idle
 * channel's claim read another channel's backlog of 200,000 (84 ms a claim), a keyed and prioritized claim's look-up
 * of a key's next message the whole channel (7.2-7.5 s a claim). Used by {@code ClaimPlanIT} (every state, the
 * default server) and {@code VersionMatrixIT} (every supported major).
 */
public final class ClaimIndexes {

    /** The states a queue's statistics can be in when a claim's plan is made. */
    public enum State {
        TRUNCATED("truncated"),
        /** A row count of 0 over pages that are still there (ANALYZE without VACUUM). */
        EMPTIED_AND_ANALYZED("emptied and analyzed"),
        /** No pages, the old column statistics kept (VACUUM ANALYZE of an emptied table). */
        DRAINED("drained and vacuumed"),
        BACKLOG("a backlog of two channels, keys and priorities, analyzed");

        private final String description;

        State(String description) {
            this.description = description;
        }

        @Override
        public String toString() {
            return description;
        }
    }

    private ClaimIndexes() {
    }

    /** The queue an endpoint's producer resolved (send through it first). */
    public static QueueResources resources(PgNotifyEndpoint endpoint) throws Exception {
        return endpoint.resources().get(QueueResources.class, () -> {
            throw new IllegalStateException("the producer has not resolved the queue yet");
        });
    }

    /** Brings the queue's table and statistics into a state. */
    public static void prepare(PgTestServer server, QueueResources queue, State state) throws Exception {
        String table = queue.table().sql();
        server.execute("TRUNCATE " + table);
        if (state == State.TRUNCATED) {
            return;
        }
        // two channels, a tenth of it the other's, keyed (200 keys) and a third of it prioritized
        server.execute("INSERT INTO " + table + " (channel, body_text, message_key, priority)"
                       + " SELECT CASE WHEN g % 10 = 0 THEN 'other' ELSE 'plans' END, 'm' || g, 'k' || (g % 200),"
                       + " g % 3 FROM generate_series(1, 20000) g");
        server.execute("ANALYZE " + table);
        if (state == State.EMPTIED_AND_ANALYZED) {
            server.execute("DELETE FROM " + table, "ANALYZE " + table);
        } else if (state == State.DRAINED) {
            server.execute("DELETE FROM " + table, "VACUUM ANALYZE " + table);
        }
    }

    /**
     * Every scan of every claim variant's generic plan reads the index meant for it: the acknowledgements, the look-ups
     * by id and the claim's update the primary key; the fresh scan the claim index (channel, id); the priority scan
     * the priority index; a key's probe and its next message's look-up the key index.
     */
    public static void assertEveryScanReadsItsOwnIndex(Connection connection, QueueResources queue, String state)
            throws Exception {
        QueueTable table = queue.table();
        String primaryKey = table.name() + "_pkey";
        Map<String, String> ownIndex = Map.of("acknowledged", primaryKey, "named", primaryKey, "claimed", primaryKey,
                "successors", primaryKey, "fresh", table.claimIndexName(), "prioritized", table.priorityIndexName());
        for (boolean keyed : new boolean[] { false, true }) {
            for (boolean prioritized : new boolean[] { false, true }) {
                String variant = state + ", keyed=" + keyed + ", prioritized=" + prioritized;
                List<ClaimPlans.Scan> scans = ClaimPlans.genericScans(connection,
                        queue.sql().acknowledgeAndClaim(keyed, prioritized), null);
                assertFalse(scans.isEmpty(), variant);
                for (ClaimPlans.Scan scan : scans) {
                    String expected = scan.writtenAlias().equals("e") ? table.keyIndexName() : ownIndex.get(scan.cte());
                    assertEquals(expected, scan.index(), variant + ": " + scan + " in " + scans);
                }
            }
        }
    }

    /**
     * The sweep's scans of an id range ({@code liveAfter}, {@code firstLive}), after their settings
     * ({@link ItemSql#INDEX_ORDER}), read through an index in index order in the generic plan PostgreSQL may settle on:
     * one index scan, never a sequential or bitmap scan (see {@code SweepPlanIT}).
     */
    public static void assertSweepScansReadAnIndexInOrder(Connection connection, QueueResources queue, String state)
            throws Exception {
        Map<String, String> scans = Map.of("liveAfter", queue.sql().liveAfter, "firstLive", queue.sql().firstLive);
        for (Map.Entry<String, String> scan : scans.entrySet()) {
            List<ClaimPlans.Scan> plan = ClaimPlans.freelyPlannedScans(connection, scan.getValue(),
                    ItemSql.INDEX_ORDER);
            String what = scan.getKey() + ", " + state + ": " + plan;
            assertEquals(1, plan.size(), what);
            assertTrue(plan.get(0).nodeType().startsWith("Index"), what);
        }
    }

    /**
     * Why the plans cannot change with the statistics: with its index gone (in a transaction rolled back), a scan has
     * no other index to read, only a sequential scan (which the settings rule out, so that it shows as disabled).
     * Were another index able to serve it, a plan made on some statistics could choose that one.
     */
    public static void assertNoOtherIndexCanServe(Connection connection, QueueResources queue) throws Exception {
        QueueTable table = queue.table();
        String claim = queue.sql().acknowledgeAndClaim(true, true);
        Map<String, String> scansOfIndex = Map.of(table.claimIndexName(), "fresh", table.priorityIndexName(),
                "prioritized", table.keyIndexName(), "e");
        for (Map.Entry<String, String> dropped : scansOfIndex.entrySet()) {
            List<ClaimPlans.Scan> scans = ClaimPlans.genericScans(connection, claim,
                    "DROP INDEX " + (table.schema() == null ? "" : PgIdentifiers.quote(table.schema()) + ".")
                    + PgIdentifiers.quote(dropped.getKey()));
            List<ClaimPlans.Scan> affected = scans.stream()
                    .filter(scan -> dropped.getValue().equals(scan.cte()) && !scan.writtenAlias().equals("e")
                                    || scan.writtenAlias().equals(dropped.getValue()))
                    .toList();
            assertFalse(affected.isEmpty(), dropped + ": " + scans);
            for (ClaimPlans.Scan scan : affected) {
                assertEquals("Seq Scan", scan.nodeType(), "without " + dropped.getKey() + ": " + scan + " in " + scans);
            }
        }
    }
}
