package dev.pgnotify.camel;

import java.time.Duration;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A queue table of the previous release (without message_key and expires_at, nor the key index) is brought up to date
 * in place when a consumer of this release starts: the messages queued before are all delivered, and keyed messages
 * work from then on.
 */
class QueueMigrationIT extends PgNotifyITSupport {

    private static final String TABLE = "migration_it_queue";

    @Test
    void aTableOfThePreviousReleaseIsMigratedOnlineWithoutLosingMessages() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        // the previous release's shape: this release's, less what it added
        template.sendBody("pgnotify:setup?table=" + TABLE, "setup");
        server().execute("DELETE FROM " + TABLE,
                "DROP INDEX " + TABLE + "_key",
                "ALTER TABLE " + TABLE + " DROP COLUMN message_key, DROP COLUMN expires_at",
                "ALTER TABLE " + TABLE + "_dead DROP COLUMN message_key",
                "INSERT INTO " + TABLE + " (channel, body_text) SELECT 'migrated', 'queued before ' || g"
                                                                 + " FROM generate_series(1, 5) g");

        MockEndpoint migrated = getMockEndpoint("mock:migrated");
        migrated.expectedMessageCount(7);
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
        migrated.setResultWaitTime(10_000);
        migrated.assertIsSatisfied();
        assertEquals(2L, ((Number) server().queryValue("SELECT count(*) FROM pg_attribute WHERE attrelid = '" + TABLE
                                                       + "'::regclass AND attname IN ('message_key', 'expires_at')"))
                .longValue());
        assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM pg_class WHERE relname = '" + TABLE
                                                       + "_key'")).longValue());
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE + " WHERE channel = 'migrated'")).longValue() == 0);
    }
}
