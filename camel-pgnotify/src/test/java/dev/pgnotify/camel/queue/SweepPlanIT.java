package dev.pgnotify.camel.queue;

import java.sql.Connection;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import org.junit.jupiter.api.Test;

/**
 * The sweep's scans of an id range ({@code liveAfter}, {@code firstLive}) read through an index in index order,
 * whatever the statistics were when their generic plan was made ({@code ItemSql.INDEX_ORDER}). PostgreSQL may settle
 * on a prepared statement's generic plan after a few executions on a connection and keeps it until the table's
 * statistics change: without the settings it was a sequential scan for a queue drained and vacuumed (the whole table,
 * dead rows included, on every page of every sweep) and a bitmap scan for one emptied and analyzed (every row of the
 * range, sorted before the page's limit). With them an index scan, of the claim index or of the primary key.
 */
class SweepPlanIT extends PgNotifyITSupport {

    private static final String TABLE = "sweep_plan_queue";

    @Test
    void theSweepsRangeScansReadAnIndexInIndexOrderWhateverTheStatistics() throws Exception {
        String uri = "pgnotify:plans?table=" + TABLE;
        template.sendBody(uri, "setup");
        QueueResources queue = ClaimIndexes.resources(context.getEndpoint(uri, PgNotifyEndpoint.class));
        try (Connection connection = server().connect()) {
            for (ClaimIndexes.State state : ClaimIndexes.State.values()) {
                ClaimIndexes.prepare(server(), queue, state);
                ClaimIndexes.assertSweepScansReadAnIndexInOrder(connection, queue, state.toString());
            }
        }
    }
}
