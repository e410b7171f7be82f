package dev.pgnotify.camel;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dead letter stays when a later message draws its id again. Users clear a queue with {@code TRUNCATE message_queue
 * RESTART IDENTITY}; the dead-letter table keeps its rows, and the queue's ids start over. Keyed by id alone, the
 * dead-letter table let the first later message that failed for good under an earlier dead letter's id replace it:
 * the earlier failed message was gone without a trace. Its key is (id, created_at), and a table of an earlier release
 * is migrated in place (docs/schema.md, "Upgrading"). A topic's dead letters, keyed by (channel, group, id) before, the
 * same when the log's id sequence starts over; there a requeue also gives a group back only the dead letter's own
 * message, never a later one that drew its id.
 */
class DeadLetterKeyIT extends PgNotifyITSupport {

    private static final String TABLE = "dead_key_queue";
    private static final String DEAD = "pgnotify:poison?table=" + TABLE + "&maxAttempts=1";
    private static final String LOG = "dead_key_topic";
    private static final String TOPIC = "pgnotify:poison?mode=topic&topicTable=" + LOG;
    private static final String BILLING = TOPIC + "&group=billing&maxAttempts=1";

    private final AtomicBoolean cured = new AtomicBoolean();

    @BeforeEach
    void dropTables() throws Exception {
        dropQueue(TABLE);
        TopicDeliveryIT.dropTopic(LOG);
    }

    @Test
    void aMessageThatDrawsTheIdOfAnEarlierDeadLetterLeavesItInPlace() throws Exception {
        failEveryMessage();
        template.sendBody(DEAD, "failed before the queue was cleared");
        await(Duration.ofSeconds(10)).until(() -> deadLetters() == 1);
        long firstId = (Long) server().queryValue("SELECT id FROM " + TABLE + "_dead");

        // the user clears the queue: its ids start over, the dead letters stay
        server().execute("TRUNCATE " + TABLE + " RESTART IDENTITY");
        template.sendBody(DEAD, "failed after");
        await(Duration.ofSeconds(10)).until(() -> deadLetters() == 2);

        assertEquals(List.of("failed after", "failed before the queue was cleared"), deadBodies(firstId));
        // naming the id names both: requeued together, the earlier first
        context.getRouteController().stopRoute("poison");
        assertEquals(2, template.requestBodyAndHeaders(DEAD, null, Map.of(
                PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS,
                PgNotifyConstants.MESSAGE_ID, List.of(firstId)), Integer.class));
        assertEquals(0L, deadLetters());
        assertEquals("failed before the queue was cleared|failed after", server().queryValue(
                "SELECT string_agg(body_text, '|' ORDER BY id) FROM " + TABLE + " WHERE channel = 'poison'"));
    }

    @Test
    void aDeadLetterTableKeyedByIdAloneIsMigratedInPlaceKeepingItsRows() throws Exception {
        template.sendBody("pgnotify:setup?table=" + TABLE, "setup");
        // an earlier release's key, with a dead letter in it
        server().execute("ALTER TABLE " + TABLE + "_dead DROP CONSTRAINT " + TABLE + "_dead_pkey, ADD PRIMARY KEY (id)",
                "INSERT INTO " + TABLE + "_dead (id, channel, body_text, headers, created_at, attempts, last_error)"
                + " VALUES (1, 'poison', 'dead before the upgrade', '{}', now() - interval '1 day', 1, 'old')",
                "DELETE FROM " + TABLE);

        // without createSchema, the consumer names what is missing instead of replacing dead letters
        Exception refused = assertThrows(Exception.class, () -> context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(DEAD + "&createSchema=false").routeId("refused").to("mock:never");
            }
        }));
        assertTrue(causeMessages(refused).contains("primary key (id, created_at)"), causeMessages(refused));
        context.removeRoute("refused");

        failEveryMessage();
        assertEquals(List.of("id", "created_at"), primaryKey(TABLE));
        server().execute("TRUNCATE " + TABLE + " RESTART IDENTITY");
        template.sendBody(DEAD, "dead after the upgrade");
        await(Duration.ofSeconds(10)).until(() -> deadLetters() == 2);
        assertEquals(List.of("dead after the upgrade", "dead before the upgrade"), deadBodies(1));
        // naming the id names both: purged together
        assertEquals(2, template.requestBodyAndHeaders(DEAD, null, Map.of(
                PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_PURGE_DEAD_LETTERS,
                PgNotifyConstants.MESSAGE_ID, List.of(1L)), Integer.class));
        assertEquals(0L, deadLetters());
    }

    @Test
    void aTopicDeadLetterStaysWhenTheLogsIdsStartOverAndOnlyItsOwnMessageIsRequeued() throws Exception {
        long firstId = firstBillingDeadLetter("failed before the log was cleared");

        // the user clears the topic and moves its sequence back by hand: the dead letters stay
        server().execute("TRUNCATE " + LOG, "ALTER SEQUENCE " + LOG + "_id_seq RESTART");
        template.sendBody(TOPIC, "failed after");
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + LOG + "_dead WHERE body_text = 'failed after'")).longValue() == 1);
        assertEquals(firstId, server().queryValue("SELECT id FROM " + LOG + "_dead WHERE body_text = 'failed after'"),
                "the later message drew the earlier dead letter's id");
        assertEquals(List.of("failed after", "failed before the log was cleared"), deadBodies(LOG, firstId));

        // the log holds only the later message under that id: it alone goes back to the group, the earlier dead
        // letter (whose message the log no longer holds) stays where it is
        context.getRouteController().stopRoute("billing");
        cured.set(true);
        assertEquals(1, requeueBilling());
        assertEquals(List.of("failed before the log was cleared"), deadBodies(LOG, firstId));
        MockEndpoint billing = getMockEndpoint("mock:billing");
        billing.expectedBodiesReceived("failed after");
        context.getRouteController().startRoute("billing");
        billing.setResultWaitTime(10_000);
        billing.assertIsSatisfied();
        assertEquals(1L, deadLetters(LOG));
    }

    @Test
    void aTopicDeadLetterIsNotRequeuedWhileItsIdAlsoNamesALaterMessageInTheLog() throws Exception {
        long id = firstBillingDeadLetter("failed first");
        context.getRouteController().stopRoute("billing");

        // the sequence moved back by hand while the log still holds the dead letter's message: a later message draws
        // its id, and a group's item, which names messages by id, could not tell the two apart
        server().execute("ALTER SEQUENCE " + LOG + "_id_seq RESTART");
        template.sendBody(TOPIC, "sent after the sequence was moved back");
        assertEquals(2L, server().queryValue("SELECT count(*) FROM " + LOG + " WHERE id = " + id));

        assertEquals(0, requeueBilling());
        assertEquals(List.of("failed first"), deadBodies(LOG, id), "the dead letter stays where it is");
    }

    @Test
    void aTopicMessageWithACreationTimeWrittenByHandIsDeadLetteredAsStored() throws Exception {
        billingFailsUntilCured();
        template.sendBody(TOPIC, "registers the group");
        await(Duration.ofSeconds(10)).until(() -> deadLetters(LOG) == 1);
        // an SQL publisher sets created_at itself, before 1582: JDBC's Timestamp reads such a date through another
        // calendar, days away from the stored instant; the dead letter must still hold the message as stored
        server().execute("INSERT INTO " + LOG + " (channel, body_text, headers, created_at)"
                         + " VALUES ('poison', 'written by hand', '{}', '1500-01-01 00:00:00+00')");
        await(Duration.ofSeconds(10)).until(() -> deadLetters(LOG) == 2);
        assertEquals(true, server().queryValue("SELECT created_at = '1500-01-01 00:00:00+00' FROM " + LOG
                                               + "_dead WHERE body_text = 'written by hand'"));
    }

    @Test
    void aTopicDeadLetterTableOfTheEarlierKeyIsMigratedInPlaceKeepingItsRows() throws Exception {
        template.sendBody(TOPIC, "setup");
        // an earlier release's key, with a dead letter in it
        server().execute("ALTER TABLE " + LOG + "_dead DROP CONSTRAINT " + LOG + "_dead_pkey,"
                         + " ADD PRIMARY KEY (channel, group_name, id)",
                "INSERT INTO " + LOG + "_dead (id, channel, group_name, body_text, headers, created_at, attempts,"
                + " last_error) VALUES (1, 'poison', 'billing', 'dead before the upgrade', '{}',"
                + " now() - interval '1 day', 1, 'old')");

        Exception refused = assertThrows(Exception.class, () -> context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(BILLING + "&createSchema=false").routeId("refused").to("mock:never");
            }
        }));
        assertTrue(causeMessages(refused).contains("primary key (channel, group_name, id, created_at)"),
                causeMessages(refused));
        context.removeRoute("refused");

        billingFailsUntilCured();
        assertEquals(List.of("channel", "group_name", "id", "created_at"), primaryKey(LOG));
        assertEquals(List.of("dead before the upgrade"), deadBodies(LOG, 1));
    }

    private void failEveryMessage() throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(DEAD).routeId("poison").process(exchange -> {
                    throw new IllegalStateException("poison");
                });
            }
        });
    }

    /** Starts the group "billing", failing every message, and sends one: returns the id of its dead letter. */
    private long firstBillingDeadLetter(String body) throws Exception {
        billingFailsUntilCured();
        template.sendBody(TOPIC, body);
        await(Duration.ofSeconds(10)).until(() -> deadLetters(LOG) == 1);
        return (Long) server().queryValue("SELECT id FROM " + LOG + "_dead");
    }

    /** Requeues the group "billing"'s dead letters; returns how many went back. */
    private int requeueBilling() {
        return template.requestBodyAndHeaders(TOPIC, null, Map.of(
                PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS,
                PgNotifyConstants.GROUP, "billing"), Integer.class);
    }

    /** The topic's group "billing" fails every message until cured. */
    private void billingFailsUntilCured() throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(BILLING).routeId("billing").process(exchange -> {
                    if (!cured.get()) {
                        throw new IllegalStateException("poison");
                    }
                }).to("mock:billing");
            }
        });
    }

    private static long deadLetters() throws SQLException {
        return deadLetters(TABLE);
    }

    private static long deadLetters(String table) throws SQLException {
        return ((Number) server().queryValue("SELECT count(*) FROM " + table + "_dead")).longValue();
    }

    private static List<String> deadBodies(long id) throws SQLException {
        return deadBodies(TABLE, id);
    }

    /** The bodies of the dead letters of this id, in alphabetical order. */
    private static List<String> deadBodies(String table, long id) throws SQLException {
        return List.of(((String) server().queryValue("SELECT string_agg(body_text, '|' ORDER BY body_text) FROM "
                                                     + table + "_dead WHERE id = " + id)).split("\\|"));
    }

    private static List<String> primaryKey(String table) throws SQLException {
        return List.of(((String) server().queryValue(
                "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i CROSS JOIN LATERAL"
                + " unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a"
                + " ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = '" + table
                + "_dead'::regclass AND i.indisprimary")).split(","));
    }
}
