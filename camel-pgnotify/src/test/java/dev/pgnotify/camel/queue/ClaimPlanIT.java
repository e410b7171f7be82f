package dev.pgnotify.camel.queue;

import java.sql.Connection;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.ClaimPlans;
import org.junit.jupiter.api.Test;

/**
 * Rule "Plans" (docs/claim-engine.md): a claim is planned once per connection and its plan never scans a table whole,
 * whatever the table held when the plan was made. Every variant of the queue's claim, planned on an empty table as the
 * consumer's settings make it, reads through indexes only; a sequential scan in such a plan would read the whole
 * table, dead rows included, on every claim once a backlog or an old snapshot has filled it.
 */
class ClaimPlanIT extends PgNotifyITSupport {

    private static final String TABLE = "claim_plan_queue";

    @Test
    void everyClaimVariantIsPlannedWithoutASequentialScan() throws Exception {
        String uri = "pgnotify:plans?table=" + TABLE;
        template.sendBody(uri, "setup");
        server().execute("TRUNCATE " + TABLE);
        QueueResources queue = context.getEndpoint(uri, PgNotifyEndpoint.class).resources().get(QueueResources.class,
                () -> {
                    throw new IllegalStateException("the producer resolved the queue already");
                });
        try (Connection connection = server().connect()) {
            for (boolean keyed : new boolean[] { false, true }) {
                for (boolean prioritized : new boolean[] { false, true }) {
                    ClaimPlans.assertIndexesOnly(connection, queue.sql().acknowledgeAndClaim(keyed, prioritized),
                            "keyed=" + keyed + ", prioritized=" + prioritized);
                }
            }
        }
    }
}
