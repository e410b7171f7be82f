package dev.pgnotify.camel;

import java.util.List;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A topic of the previous release (a log without message_key, items without keys and position, nor their index, and
 * cut and load functions that know no keys) is brought up to date in place when a consumer of this release starts:
 * the messages published before are all delivered, and keyed messages keep their order from then on. A load function
 * of the previous release (it knows keys, only slower) is kept with createSchema=false and replaced in place with
 * createSchema=true; so are functions that an earlier release let the server JIT-compile.
 */
class TopicMigrationIT extends PgNotifyITSupport {

    private static final String TABLE = "migration_it_topic";

    @Test
    void aTopicOfThePreviousReleaseIsMigratedOnlineWithoutLosingMessages() throws Exception {
        TopicDeliveryIT.dropTopic(TABLE);
        String topic = "pgnotify:migrated?mode=topic&topicTable=" + TABLE;
        // the previous release's shape: this release's, less what it added (the functions' bodies stand for the
        // earlier ones: what matters is that they know no keys)
        template.sendBody(topic, "setup");
        server().execute("DROP INDEX " + TABLE + "_items_keys",
                "ALTER TABLE " + TABLE + " DROP COLUMN message_key CASCADE",
                "ALTER TABLE " + TABLE + "_items DROP COLUMN keys, DROP COLUMN position",
                "CREATE OR REPLACE FUNCTION " + TABLE + "_cut(p_channel text, p_group text, p_batch integer,"
                + " p_limit integer, OUT messages integer, OUT more boolean) LANGUAGE plpgsql AS $$ BEGIN"
                + " messages := 0; more := false; END $$",
                "DROP FUNCTION " + TABLE + "_load(bigint[], bigint, boolean)",
                "CREATE FUNCTION " + TABLE + "_load(p_ids bigint[], p_budget bigint, p_bytes boolean)"
                + " RETURNS TABLE (n bigint, id bigint, body_json text, body_text text, body_bytes bytea, headers text,"
                + " created_at timestamptz, is_binary boolean) LANGUAGE sql AS $$ SELECT NULL::bigint, NULL::bigint,"
                + " NULL, NULL, NULL::bytea, NULL, NULL::timestamptz, false WHERE false $$",
                "INSERT INTO " + TABLE + " (channel, body_text) SELECT 'migrated', 'published before ' || g"
                + " FROM generate_series(1, 5) g");

        MockEndpoint migrated = getMockEndpoint("mock:migrated");
        // with the setup message: all the log holds
        migrated.expectedMessageCount(9);
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(topic + "&group=reader&groupStart=earliest").to("mock:migrated");
            }
        });
        for (int i = 1; i <= 3; i++) {
            template.sendBodyAndHeader(topic, "keyed after " + i, PgNotifyConstants.KEY, "k");
        }
        migrated.setResultWaitTime(20_000);
        migrated.assertIsSatisfied();
        assertEquals(List.of("keyed after 1", "keyed after 2", "keyed after 3"),
                migrated.getExchanges().stream().map(e -> e.getMessage().getBody(String.class))
                        .filter(body -> body.startsWith("keyed")).toList());
        assertEquals("k", migrated.getExchanges().get(8).getMessage().getHeader(PgNotifyConstants.KEY));
        assertEquals(3L, ((Number) server().queryValue("SELECT count(*) FROM pg_attribute WHERE attrelid IN ('"
                                                       + TABLE + "'::regclass, '" + TABLE + "_items'::regclass)"
                                                       + " AND attname IN ('message_key', 'keys', 'position')"))
                .longValue());
    }

    @Test
    void aSlowerLoadFunctionIsKeptWithoutCreateSchemaAndReplacedInPlaceWithIt() throws Exception {
        // the previous release's result, read another way: what matters is that it lacks this release's one-pass read
        upgradedUnderAReader("upgraded", onePassLoad(TABLE), false, true, previousLoadFunction(TABLE));
    }

    @Test
    void functionsThatMayBeJitCompiledAreKeptWithoutCreateSchemaAndSetToRunWithoutItWithIt() throws Exception {
        // the previous release's functions: the same, without their own jit setting
        upgradedUnderAReader("nojit", "SELECT count(*) FROM pg_proc WHERE proname IN ('" + TABLE + "_cut', '" + TABLE
                                      + "_load', '" + TABLE + "_maintain') AND 'jit=off' = ANY(proconfig)", 0L, 3L,
                "ALTER FUNCTION " + TABLE + "_cut(text, text, integer, integer) RESET jit",
                "ALTER FUNCTION " + TABLE + "_load(bigint[], bigint, boolean) RESET jit",
                "ALTER FUNCTION " + TABLE + "_maintain(interval, interval, interval) RESET jit");
    }

    /**
     * A topic made as this release makes it, then taken back to the previous release's shape by {@code previous}: a
     * reader started with createSchema=false and a send with it leave it as it is ({@code check} answers
     * {@code asItWas}); a send with createSchema=true brings it up to date ({@code upgraded}) under the reader, which
     * receives every message.
     */
    private void upgradedUnderAReader(String channel, String check, Object asItWas, Object upgraded,
                                      String... previous)
            throws Exception {
        TopicDeliveryIT.dropTopic(TABLE);
        String topic = "pgnotify:" + channel + "?mode=topic&topicTable=" + TABLE;
        template.sendBody(topic, "setup");
        server().execute(previous);

        MockEndpoint reader = getMockEndpoint("mock:" + channel);
        reader.expectedBodiesReceived("setup", "before", "after");
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(topic + "&group=reader&groupStart=earliest&createSchema=false").to("mock:" + channel);
            }
        });
        template.sendBody(topic + "&createSchema=false", "before");
        assertEquals(asItWas, server().queryValue(check), "createSchema=false leaves the topic as it is");
        // a start with createSchema=true brings it up to date, under the consumer that keeps calling its functions
        template.sendBody(topic + "&createSchema=true", "after");
        reader.setResultWaitTime(20_000);
        reader.assertIsSatisfied();
        assertEquals(upgraded, server().queryValue(check), "brought up to date with createSchema=true");
    }

    /** The previous release's load function in kind (it knows keys; it lacks this release's one-pass read). */
    static String previousLoadFunction(String table) {
        return "CREATE OR REPLACE FUNCTION " + table + "_load(p_ids bigint[], p_budget bigint, p_bytes boolean)"
               + " RETURNS TABLE (n bigint, id bigint, body_json text, body_text text, body_bytes bytea,"
               + " headers text, created_at timestamptz, is_binary boolean, message_key text) LANGUAGE sql"
               + " STABLE AS $$ SELECT u.n, m.id, m.body_json::text, m.body_text, CASE WHEN p_bytes THEN"
               + " m.body_bytes END, m.headers::text, m.created_at, m.body_bytes IS NOT NULL, m.message_key"
               + " FROM unnest(p_ids) WITH ORDINALITY AS u(mid, n) JOIN " + table + " m ON m.id = u.mid"
               + " ORDER BY u.n $$";
    }

    /** A query: whether the topic's load function is this release's. */
    static String onePassLoad(String table) {
        return "SELECT strpos(prosrc, 'found AS MATERIALIZED') > 0 FROM pg_proc WHERE oid = '" + table
               + "_load(bigint[], bigint, boolean)'::regprocedure";
    }
}
