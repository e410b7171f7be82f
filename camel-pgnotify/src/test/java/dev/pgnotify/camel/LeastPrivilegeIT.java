package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.pgnotify.camel.listen.SharedListener;
import dev.pgnotify.camel.queue.QueueSchema;
import dev.pgnotify.camel.queue.QueueTable;
import dev.pgnotify.camel.topic.TopicSchema;
import dev.pgnotify.camel.topic.TopicTable;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The installing role creates the schema once (the documented SQL); the runtime role has DML on the queue tables
 * only, no CREATE anywhere, and works; a runtime role missing a grant fails at start naming the privilege, the table
 * and the GRANT to run; timeouts an administrator sets on the role do not break the consumer.
 */
class LeastPrivilegeIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(LeastPrivilegeIT.class);
    private static final String SCHEMA = "lp_it";
    private static final String ROLE = "pgnotify_lp_runtime";
    private static final String PASSWORD = "Runtime-Pa55";
    private static final String TABLE = SCHEMA + ".queue";

    /** What an administrator grants the runtime role, as docs/production.md documents it. */
    static final List<String> RUNTIME_GRANTS = List.of(
            "GRANT USAGE ON SCHEMA lp_it TO " + ROLE,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON lp_it.queue TO " + ROLE,
            "GRANT SELECT, INSERT, UPDATE ON lp_it.queue_dead TO " + ROLE,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON lp_it.queue_dedup TO " + ROLE,
            "GRANT SELECT ON SEQUENCE lp_it.queue_id_seq TO " + ROLE);

    /** What an administrator grants the runtime role for a topic, as docs/production.md documents it. */
    static final List<String> TOPIC_GRANTS = List.of(
            "GRANT USAGE ON SCHEMA lp_it TO " + ROLE,
            "GRANT SELECT, INSERT ON lp_it.topic TO " + ROLE,
            "GRANT USAGE ON SEQUENCE lp_it.topic_id_seq TO " + ROLE,
            "GRANT SELECT ON lp_it.topic_state, lp_it.topic_lag TO " + ROLE,
            "GRANT SELECT, INSERT, UPDATE ON lp_it.topic_groups, lp_it.topic_dead TO " + ROLE,
            "GRANT SELECT, INSERT, DELETE ON lp_it.topic_cuts TO " + ROLE,
            "GRANT SELECT, INSERT, UPDATE, DELETE ON lp_it.topic_items TO " + ROLE,
            "GRANT SELECT ON SEQUENCE lp_it.topic_items_id_seq TO " + ROLE,
            "GRANT EXECUTE ON FUNCTION lp_it.topic_maintain(interval, interval, interval) TO " + ROLE);

    private final Set<String> received = ConcurrentHashMap.newKeySet();

    @BeforeEach
    void installAsAdministrator() throws Exception {
        server().execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE",
                "DO $$ BEGIN CREATE ROLE " + ROLE + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
                "ALTER ROLE " + ROLE + " PASSWORD '" + PASSWORD + "'",
                "ALTER ROLE " + ROLE + " RESET ALL",
                "CREATE SCHEMA " + SCHEMA);
        // the installing role runs the documented DDL once
        server().execute(QueueSchema.ddl(QueueTable.of(TABLE, null).inSchema(SCHEMA)).toArray(new String[0]));
        server().execute(RUNTIME_GRANTS.toArray(new String[0]));
        assertEquals(Boolean.FALSE, server().queryValue("SELECT has_schema_privilege('" + ROLE + "', '" + SCHEMA
                                                        + "', 'CREATE')"),
                "the runtime role may create nothing");
    }

    @AfterEach
    void dropRole() throws Exception {
        server().execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE", "ALTER ROLE " + ROLE + " RESET ALL");
    }

    /** A context whose pgnotify component connects as the runtime role. */
    private CamelContext asRuntimeRole() {
        CamelContext camel = new DefaultCamelContext();
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(server().jdbcUrl());
        component.getConfiguration().setUsername(ROLE);
        component.getConfiguration().setPassword(PASSWORD);
        return camel;
    }

    private CamelContext runtimeContext(String options) throws Exception {
        CamelContext camel = asRuntimeRole();
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:lp?table=" + TABLE + options).routeId("consumer")
                        .process(e -> {
                            String body = e.getMessage().getBody(String.class);
                            if (body.startsWith("poison")) {
                                throw new IllegalStateException("refused " + body);
                            }
                            received.add(body);
                        });
            }
        });
        camel.start();
        return camel;
    }

    @Test
    void aRuntimeRoleWithDmlOnlyWorksWithCreateSchemaFalse() throws Exception {
        try (CamelContext camel = runtimeContext("&createSchema=false&maxAttempts=1")) {
            camel.createProducerTemplate().sendBody("pgnotify:lp?table=" + TABLE + "&createSchema=false", "hello");
            camel.createProducerTemplate().sendBody("pgnotify:lp?table=" + TABLE + "&createSchema=false", "poison");
            // deduplicated, keyed, prioritized and delayed: the triggers and claims run as the runtime role too
            camel.createProducerTemplate().send("pgnotify:lp?table=" + TABLE + "&createSchema=false"
                                                + "&deduplicationWindow=60s", exchange -> {
                                                    exchange.getMessage().setBody("once");
                                                    exchange.getMessage().setHeader(PgNotifyConstants.DEDUPLICATION_ID, "order-1");
                                                    exchange.getMessage().setHeader(PgNotifyConstants.KEY, "k");
                                                    exchange.getMessage().setHeader(PgNotifyConstants.PRIORITY, 2);
                                                    exchange.getMessage().setHeader(PgNotifyConstants.DELAY, 50);
                                                });
            await(Duration.ofSeconds(10)).until(() -> received.contains("hello") && received.contains("once"));
            // its acknowledgement started the id's window
            await(Duration.ofSeconds(10)).until(() -> Boolean.TRUE.equals(server().queryValue(
                    "SELECT until < 'infinity' FROM " + TABLE + "_dedup WHERE dedup_id = 'order-1'")));
            // the dead-letter path too
            await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                    "SELECT count(*) FROM " + TABLE + "_dead")).longValue() == 1);
        }
    }

    @Test
    void theDefaultCreateSchemaOnlyChecksWhenEverythingExists() throws Exception {
        try (CamelContext camel = runtimeContext("")) {
            camel.createProducerTemplate().sendBody("pgnotify:lp?table=" + TABLE, "hello");
            await(Duration.ofSeconds(10)).until(() -> received.contains("hello"));
        }
    }

    @Test
    void aMissingGrantFailsAtStartNamingThePrivilegeAndTheTable() throws Exception {
        server().execute("REVOKE DELETE ON " + TABLE + " FROM " + ROLE,
                "REVOKE UPDATE ON " + TABLE + "_dead FROM " + ROLE,
                "REVOKE UPDATE ON " + TABLE + "_dedup FROM " + ROLE);
        Exception failure = assertThrows(Exception.class, () -> runtimeContext("&createSchema=false").close());
        String message = causeMessages(failure);
        LOG.info("Start without the grants: {}", message);
        assertTrue(message.contains("The role '" + ROLE + "' lacks DELETE on table \"lp_it\".\"queue\""
                                    + " (to acknowledge messages)"),
                message);
        assertTrue(message.contains("UPDATE on table \"lp_it\".\"queue_dead\""), message);
        assertTrue(message.contains("UPDATE on table \"lp_it\".\"queue_dedup\" (to start a deduplication id's"
                                    + " window when its message is acknowledged)"), message);
        assertTrue(message.contains("GRANT DELETE ON \"lp_it\".\"queue\" TO \"" + ROLE + "\""), message);
    }

    @Test
    void aRuntimeRoleCannotCreateTheSchemaAndSaysSo() throws Exception {
        server().execute("DROP TABLE " + TABLE + "_dead");
        Exception failure = assertThrows(Exception.class, () -> runtimeContext("").close());
        String message = causeMessages(failure);
        LOG.info("Start with createSchema=true and a missing table: {}", message);
        assertTrue(message.contains("Cannot create dead-letter table lp_it.queue_dead"), message);
        assertTrue(message.contains("permission denied for schema lp_it"), message);
    }

    @Test
    void timeoutsSetOnTheRoleDoNotBreakTheConsumer() throws Exception {
        server().execute("ALTER ROLE " + ROLE + " SET idle_session_timeout = '1s'",
                "ALTER ROLE " + ROLE + " SET idle_in_transaction_session_timeout = '1s'",
                "ALTER ROLE " + ROLE + " SET statement_timeout = '1s'");
        try (CamelContext camel = runtimeContext("&createSchema=false")) {
            camel.createProducerTemplate().sendBody("pgnotify:lp?table=" + TABLE + "&createSchema=false", "first");
            await(Duration.ofSeconds(10)).until(() -> received.contains("first"));
            // idle for longer than the role's idle_session_timeout
            long idleUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            await(Duration.ofSeconds(10)).until(() -> System.nanoTime() > idleUntil);
            camel.createProducerTemplate().sendBody("pgnotify:lp?table=" + TABLE + "&createSchema=false", "second");
            await(Duration.ofSeconds(10)).until(() -> received.contains("second"));
            SharedListener listener = camel.getComponent("pgnotify", PgNotifyComponent.class).getListeners()
                    .stream().get(0);
            assertEquals(0, listener.getReconnects(), "the LISTEN connection was never ended by the server");
        }
    }

    @Test
    void aTopicWorksWithItsDocumentedGrants() throws Exception {
        server().execute(TopicSchema.ddl(TopicTable.of(SCHEMA + ".topic").inSchema(SCHEMA)).toArray(new String[0]));
        server().execute(TOPIC_GRANTS.toArray(new String[0]));
        String topic = "pgnotify:lpt?mode=topic&topicTable=" + SCHEMA + ".topic&createSchema=false&rotateInterval=200";
        try (CamelContext camel = asRuntimeRole()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(topic + "&group=g&maxAttempts=1").routeId("topic").process(e -> {
                        String body = e.getMessage().getBody(String.class);
                        if (body.startsWith("poison")) {
                            throw new IllegalStateException("refused " + body);
                        }
                        received.add(body);
                    });
                }
            });
            camel.start();
            camel.createProducerTemplate().sendBody(topic, "hello");
            camel.createProducerTemplate().sendBody(topic, "poison");
            await(Duration.ofSeconds(10)).until(() -> received.contains("hello"));
            await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                    "SELECT count(*) FROM " + SCHEMA + ".topic_dead")).longValue() == 1);
            // the maintenance empties the log with its owner's rights: the runtime role may not TRUNCATE
            await(Duration.ofSeconds(20)).until(() -> ((Number) server().queryValue(
                    "SELECT count(*) FROM " + SCHEMA + ".topic")).longValue() == 0);
        }
        assertEquals(Boolean.FALSE, server().queryValue("SELECT has_table_privilege('" + ROLE + "', '" + SCHEMA
                                                        + ".topic_0', 'TRUNCATE')"));
    }

    @Test
    void aSlowerLoadFunctionAnotherRoleOwnsDoesNotFailTheDefaultCreateSchema() throws Exception {
        server().execute(TopicSchema.ddl(TopicTable.of(SCHEMA + ".topic").inSchema(SCHEMA)).toArray(new String[0]));
        server().execute(TOPIC_GRANTS.toArray(new String[0]));
        server().execute(TopicMigrationIT.previousLoadFunction(SCHEMA + ".topic"));
        // createSchema=true: the installer may replace the load function in place, but the runtime role does not own it
        String topic = "pgnotify:lpt?mode=topic&topicTable=" + SCHEMA + ".topic&rotateInterval=200";
        try (CamelContext camel = asRuntimeRole()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(topic + "&group=g").routeId("topic").process(e -> received.add(e.getMessage().getBody(String.class)));
                }
            });
            camel.start();
            camel.createProducerTemplate().sendBody(topic, "hello");
            await(Duration.ofSeconds(10)).until(() -> received.contains("hello"));
        }
        assertEquals(Boolean.FALSE, server().queryValue(TopicMigrationIT.onePassLoad(SCHEMA + ".topic")),
                "kept as it was");
    }

    @Test
    void aTopicConsumerMissingAGrantFailsAtStartNamingIt() throws Exception {
        server().execute(TopicSchema.ddl(TopicTable.of(SCHEMA + ".topic").inSchema(SCHEMA)).toArray(new String[0]));
        server().execute(TOPIC_GRANTS.stream().filter(grant -> !grant.contains("EXECUTE")).toArray(String[]::new));
        try (CamelContext camel = asRuntimeRole()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:lpt?mode=topic&topicTable=" + SCHEMA + ".topic&createSchema=false&group=g")
                            .to("log:never");
                }
            });
            Exception failure = assertThrows(Exception.class, camel::start);
            String message = causeMessages(failure);
            LOG.info("A topic consumer without EXECUTE on the maintenance: {}", message);
            assertTrue(message.contains("lacks EXECUTE on function \"lp_it\".\"topic_maintain\"(interval, interval,"
                                        + " interval) (to empty the partitions of the log that no group needs any"
                                        + " more)"),
                    message);
            assertTrue(message.contains("GRANT EXECUTE ON FUNCTION \"lp_it\".\"topic_maintain\""), message);
        }
    }

    @Test
    void aRoleMadeReadOnlyByMistakeIsRefusedNamingTheSettingNotAFailover() throws Exception {
        server().execute("ALTER ROLE " + ROLE + " SET default_transaction_read_only = on");
        CamelContext camel = asRuntimeRole();
        try {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:lp?table=" + TABLE + "&createSchema=false").routeId("consumer").log("never");
                }
            });
            Exception refused = assertThrows(Exception.class, camel::start);
            StringBuilder message = new StringBuilder();
            for (Throwable t = refused; t != null; t = t.getCause()) {
                message.append(t.getMessage()).append(" | ");
            }
            LOG.info("A runtime role with default_transaction_read_only on: {}", message);
            assertTrue(message.toString().contains("default_transaction_read_only is on for it"), message.toString());
            assertTrue(message.toString().contains("ALTER ROLE ... RESET default_transaction_read_only"),
                    message.toString());
            assertTrue(!message.toString().contains("targetServerType"),
                    "another host would not help, pgjdbc would take this primary for a standby: " + message);
        } finally {
            camel.close();
        }
    }
}
