package dev.pgnotify.camel.topic;

import java.sql.Connection;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.ClaimPlans;
import org.junit.jupiter.api.Test;

/**
 * Rule "Plans" (docs/claim-engine.md) for mode=topic: a group's claim, with and without the per-key steps, planned on
 * empty items as the consumer's settings make it, reads through indexes only (before, its generic plan scanned the items
 * table whole: seen in the benchmark's plans).
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
}
