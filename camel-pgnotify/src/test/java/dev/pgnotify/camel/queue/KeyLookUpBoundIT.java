package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-key order's look-ups in a claim (rule "Plans", docs/claim-engine.md) end within their key, whatever lies after
 * it in the key index: here 20,000 entries the claim cannot see, the uncommitted insert of another session into another
 * channel (a producer's large batch), which sort after the last key of this channel. Each entry a scan passes that the
 * statement cannot see costs a heap fetch. Written to stop at the first entry the statement sees, the look-up of the
 * next message of a key whose acknowledged message was its last ran on over all of them (50,265 pages for one claim in
 * an independent review); so did the probe for an earlier message of a candidate that lay below the claim's bound.
 */
class KeyLookUpBoundIT extends PgNotifyITSupport {

    private static final String TABLE = "key_look_up_queue";
    /** Pages a look-up of one key may read here: an index descent and a few leaf and heap pages. */
    private static final long BOUND = 40;
    private static final Logger LOG = LoggerFactory.getLogger(KeyLookUpBoundIT.class);

    @Test
    void theKeyLookUpsEndWithinTheirKeyWhateverLiesAfterIt() throws Exception {
        String uri = "pgnotify:keyed?table=" + TABLE;
        template.sendBody(uri, "setup");
        QueueResources queue = ClaimIndexes.resources(context.getEndpoint(uri, PgNotifyEndpoint.class));
        String table = queue.table().sql();
        server().execute("TRUNCATE " + table);
        // keys b0..b3 of channel 'b', ten messages each; b3's last message has the highest id
        server().execute("INSERT INTO " + table + " (channel, body_text, message_key)"
                         + " SELECT 'b', 'm' || g, 'b' || (g % 4) FROM generate_series(1, 40) g",
                "VACUUM ANALYZE " + table);
        long last = ((Number) server().queryValue("SELECT max(id) FROM " + table + " WHERE message_key = 'b3'"))
                .longValue();
        long earlier = ((Number) server().queryValue("SELECT max(id) FROM " + table + " WHERE message_key = 'b3'"
                                                     + " AND id < " + last)).longValue();
        try (Connection producer = server().connect(); Connection claimer = server().connect()) {
            producer.setAutoCommit(false);
            try (Statement insert = producer.createStatement()) {
                insert.execute("INSERT INTO " + table + " (channel, body_text, message_key)"
                               + " SELECT 'c', 'm' || g, 'k' || (g % 100) FROM generate_series(1, 20000) g");
            }
            String nextOfKey = "SELECT " + KeyOrderSql.nextOfKey(table, "9223372036854775807")
                               + " FROM (VALUES (?::text, ?::text, ?::bigint)) a(channel, message_key, id)";
            // the key's last message acknowledged: no next one, and the look-up stops at the key's end
            assertEquals(null, run(claimer, nextOfKey, "b", "b3", last));
            assertBounded(pages(claimer, nextOfKey, "b", "b3", last), "the look-up after the key's last");
            // one before it: the next is the last
            assertEquals(last, run(claimer, nextOfKey, "b", "b3", earlier));
            assertBounded(pages(claimer, nextOfKey, "b", "b3", earlier), "the look-up of the key's next");

            String probe = "WITH bound AS MATERIALIZED (SELECT ?::bigint AS lo) SELECT "
                           + KeyOrderSql.noEarlierOfItsKey(table, false) + " FROM " + table + " q WHERE q.id = ?";
            // a candidate above the bound with earlier messages of its key from the bound on: not free to go
            assertEquals(false, run(claimer, probe, 1L, last));
            assertBounded(pages(claimer, probe, 1L, last), "the probe of a candidate above the bound");
            // the key's last message, probed from a bound above it (a row committed below the sweep's bound)
            assertEquals(true, run(claimer, probe, last + 1, last));
            assertBounded(pages(claimer, probe, last + 1, last), "the probe of a candidate below the bound");
            producer.rollback();
        }
    }

    private static void assertBounded(long pages, String what) {
        assertTrue(pages <= BOUND, what + " read " + pages + " pages, more than " + BOUND);
        LOG.info("{}: {} pages", what, pages);
    }

    private static Object run(Connection connection, String sql, Object... parameters) throws Exception {
        try (PreparedStatement statement = prepare(connection, sql, parameters);
             ResultSet rs = statement.executeQuery()) {
            assertTrue(rs.next());
            return rs.getObject(1);
        }
    }

    /** The pages (buffers hit and read) a statement's execution reads, from its EXPLAIN (ANALYZE, BUFFERS). */
    private static long pages(Connection connection, String sql, Object... parameters) throws Exception {
        try (PreparedStatement statement = prepare(connection, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql,
                parameters); ResultSet rs = statement.executeQuery()) {
            assertTrue(rs.next());
            JsonNode plan = new ObjectMapper().readTree(rs.getString(1)).get(0).get("Plan");
            return plan.path("Shared Hit Blocks").asLong() + plan.path("Shared Read Blocks").asLong();
        }
    }

    private static PreparedStatement prepare(Connection connection, String sql, Object... parameters)
            throws Exception {
        PreparedStatement statement = connection.prepareStatement(sql);
        for (int i = 0; i < parameters.length; i++) {
            statement.setObject(i + 1, parameters[i]);
        }
        return statement;
    }
}
