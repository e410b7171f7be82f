package dev.pgnotify.camel;

import java.time.Duration;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A queue table of the previous release (without message_key, expires_at, dedup_id and priority, the key and priority
 * indexes, the deduplication table and triggers, and with a wake-up trigger that knows no delays) is brought up to
 * date in place when a consumer of this release starts: the messages queued before are all delivered, and keyed,
 * prioritized and delayed messages work from then on.
 */
class QueueMigrationIT extends PgNotifyITSupport {

    private static final String TABLE = "migration_it_queue";

    @Test
    void aTableOfThePreviousReleaseIsMigratedOnlineWithoutLosingMessages() throws Exception {
        dropQueue(TABLE);
        // the previous release's shape: this release's, less what it added
        template.sendBody("pgnotify:setup?table=" + TABLE, "setup");
        server().execute("DELETE FROM " + TABLE,
                "DROP INDEX " + TABLE + "_key",
                "DROP INDEX " + TABLE + "_priority",
                "DROP TRIGGER " + TABLE + "_dedup ON " + TABLE,
                "DROP TRIGGER " + TABLE + "_dedup_window ON " + TABLE,
                "DROP FUNCTION " + TABLE + "_dedup()",
                "DROP FUNCTION " + TABLE + "_dedup_window()",
                "DROP TABLE " + TABLE + "_dedup",
                "ALTER TABLE " + TABLE + " DROP COLUMN message_key, DROP COLUMN expires_at, DROP COLUMN dedup_id,"
                + " DROP COLUMN priority",
                "ALTER TABLE " + TABLE + "_dead DROP COLUMN message_key, DROP COLUMN priority",
                "CREATE OR REPLACE FUNCTION " + TABLE + "_wake_up() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                + "BEGIN\n"
                + "    IF current_setting('pgnotify.wake_up', true) IS DISTINCT FROM 'deferred' THEN\n"
                + "        PERFORM pg_notify(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, c.channel)\n"
                + "        FROM (SELECT DISTINCT channel FROM inserted) AS c;\n"
                + "    END IF;\n"
                + "    RETURN NULL;\n"
                + "END $$",
                "INSERT INTO " + TABLE + " (channel, body_text) SELECT 'migrated', 'queued before ' || g"
                                                                 + " FROM generate_series(1, 5) g");

        MockEndpoint migrated = getMockEndpoint("mock:migrated");
        migrated.expectedMessageCount(9);
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:migrated?table=" + TABLE + "&pollInterval=200").to("mock:migrated");
            }
        });
        template.sendBodyAndHeader("pgnotify:migrated?table=" + TABLE + "&timeToLive=60s", "keyed after 1",
                PgNotifyConstants.KEY, "k");
        template.sendBodyAndHeader("pgnotify:migrated?table=" + TABLE + "&timeToLive=60s", "keyed after 2",
                PgNotifyConstants.KEY, "k");
        template.sendBodyAndHeader("pgnotify:migrated?table=" + TABLE, "prioritized after", PgNotifyConstants.PRIORITY,
                3);
        template.sendBodyAndHeader("pgnotify:migrated?table=" + TABLE, "delayed after", PgNotifyConstants.DELAY,
                200);
        migrated.setResultWaitTime(10_000);
        migrated.assertIsSatisfied();
        assertEquals(4L, ((Number) server().queryValue("SELECT count(*) FROM pg_attribute WHERE attrelid = '" + TABLE
                                                       + "'::regclass AND attname IN ('message_key', 'expires_at',"
                                                       + " 'dedup_id', 'priority')"))
                .longValue());
        assertEquals(3L, ((Number) server().queryValue("SELECT count(*) FROM pg_class WHERE relname IN ('" + TABLE
                                                       + "_key', '" + TABLE + "_priority', '" + TABLE + "_dedup')"))
                .longValue());
        assertEquals(true, server().queryValue("SELECT prosrc LIKE '%available_at%' FROM pg_proc WHERE proname = '"
                                               + TABLE + "_wake_up'"));
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE + " WHERE channel = 'migrated'")).longValue() == 0);
    }
}
