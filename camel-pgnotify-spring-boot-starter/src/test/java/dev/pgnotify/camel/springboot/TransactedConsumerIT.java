package dev.pgnotify.camel.springboot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConstants;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.processor.idempotent.jdbc.JdbcMessageIdRepository;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * transacted=true: the route's JDBC work and the message's acknowledgement commit together. A failure rolls the
 * route's work back and the message comes again; a message that always fails ends in the dead-letter table after
 * maxAttempts, with none of its work left behind. And, in the default lease mode, an idempotentConsumer with camel-sql's
 * JdbcMessageIdRepository keys on the message id with no expression of its own to write.
 */
@SpringBootTest(classes = TransactedConsumerIT.App.class, properties = {
        "camel.component.pgnotify.table=tc_it_queue",
        // failures are what this test makes
        "logging.level.org.apache.camel.processor.errorhandler=OFF",
        "logging.level.dev.pgnotify.camel.claim.ClaimingConsumer=ERROR" })
class TransactedConsumerIT {

    static final CountDownLatch SLOW_ROUTE_ENTERED = new CountDownLatch(1);
    static final CountDownLatch SLOW_ROUTE_MAY_FINISH = new CountDownLatch(1);

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        JdbcMessageIdRepository idempotentRepository(DataSource dataSource) {
            return new JdbcMessageIdRepository(dataSource, "tc-idem");
        }

        @Bean
        RouteBuilder routes(JdbcTemplate jdbc, JdbcMessageIdRepository idempotentRepository) {
            return new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:tc-jobs?transacted=true&maxAttempts=3&retryDelay=0&concurrentConsumers=2")
                            .routeId("tc-jobs")
                            .process(exchange -> jdbc.update(
                                    "INSERT INTO tc_it_done (message_id, body, attempt) VALUES (?, ?, ?)",
                                    Long.parseLong(exchange.getMessage().getMessageId()),
                                    exchange.getMessage().getBody(String.class),
                                    exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class)))
                            .filter(exchange -> {
                                String body = exchange.getMessage().getBody(String.class);
                                int attempt = exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class);
                                return body.equals("poison") || body.equals("flaky") && attempt == 1;
                            })
                                .throwException(new IllegalStateException("cannot process this one"))
                            .end();

                    // the default lease mode: the database work commits in its own transaction, and a later step
                    // fails once, so the message comes again; the idempotent consumer skips the work done
                    from("pgnotify:tc-idem?retryDelay=0").routeId("tc-idem")
                            .to("direct:saveOnce")
                            .filter(header(PgNotifyConstants.ATTEMPT).isEqualTo(1))
                                .throwException(new IllegalStateException("the HTTP call after the save failed"))
                            .end();
                    // per-key order in transacted mode: with a poll once a minute, only the acknowledgement's own
                    // hand-over of the key can deliver the next message promptly
                    from("pgnotify:tc-keyed?transacted=true&pollInterval=60000").routeId("tc-keyed")
                            .process(exchange -> jdbc.update("INSERT INTO tc_it_keyed (body) VALUES (?)",
                                    exchange.getMessage().getBody(String.class)));

                    from("pgnotify:tc-slow?transacted=true").routeId("tc-slow")
                            .process(exchange -> {
                                jdbc.update("INSERT INTO tc_it_saved (message_id) VALUES (-1)");
                                SLOW_ROUTE_ENTERED.countDown();
                                SLOW_ROUTE_MAY_FINISH.await(30, TimeUnit.SECONDS);
                            });

                    from("direct:saveOnce").routeId("save-once")
                            .transacted()
                            .idempotentConsumer(simple("${id}"), idempotentRepository)
                                // the repository's entry commits or rolls back with the work: a failure after the
                                // commit must not remove it
                                .removeOnFailure(false)
                            .process(exchange -> jdbc.update("INSERT INTO tc_it_saved (message_id) VALUES (?)",
                                    Long.parseLong(exchange.getMessage().getMessageId())));
                }
            };
        }
    }

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        TestDatabase.server().execute(
                "DROP TABLE IF EXISTS tc_it_queue, tc_it_queue_dead, tc_it_done, tc_it_saved, camel_messageprocessed CASCADE",
                "CREATE TABLE tc_it_done (message_id bigint, body text, attempt int)",
                "CREATE TABLE tc_it_saved (message_id bigint)",
                "DROP TABLE IF EXISTS tc_it_keyed", "CREATE TABLE tc_it_keyed (seq serial PRIMARY KEY, body text)");
        TestDatabase.springDataSource(registry);
    }

    @Autowired
    ProducerTemplate producer;
    @Autowired
    JdbcTemplate jdbc;

    @Test
    void aFailureRollsTheRoutesWorkBackAndAPoisonMessageEndsInTheDeadLetterTable() throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            bodies.add("job " + i);
        }
        bodies.add("flaky");
        bodies.add("poison");
        producer.sendBody("pgnotify:tc-jobs?batch=true", bodies);

        await().atMost(Duration.ofSeconds(30)).until(
                () -> TestDatabase.count("SELECT count(*) FROM tc_it_queue") == 0);
        Map<String, Object> dead = jdbc.queryForMap("SELECT body_text, attempts, last_error FROM tc_it_queue_dead");
        assertEquals("poison", dead.get("body_text"));
        assertEquals(3, dead.get("attempts"), "dead-lettered after maxAttempts, although every attempt rolled back");
        assertEquals(0L, TestDatabase.count("SELECT count(*) FROM tc_it_done WHERE body = 'poison'"),
                "none of the poison message's work is left");
        assertEquals(21L, TestDatabase.count("SELECT count(*) FROM tc_it_done"), "every other message's work once");
        assertEquals(21L, TestDatabase.count("SELECT count(DISTINCT message_id) FROM tc_it_done"));
        assertEquals(2, jdbc.queryForObject("SELECT attempt FROM tc_it_done WHERE body = 'flaky'", Integer.class),
                "the first delivery's work rolled back with it; the second's committed");
    }

    @Test
    void aSlowRouteHoldsItsTransactionOpenOnlyWhileItRunsAndTheClaimIsNotInIt() throws Exception {
        String ourTransactions = "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
                                 + " AND pid <> pg_backend_pid() AND datname = current_database()";
        producer.sendBody("pgnotify:tc-slow", "slow");
        SLOW_ROUTE_ENTERED.await(30, TimeUnit.SECONDS);
        try {
            // the claim committed on its own before the route's transaction began: its count is visible outside
            assertEquals(1, jdbc.queryForObject("SELECT attempts FROM tc_it_queue WHERE channel = 'tc-slow'",
                    Integer.class));
            assertEquals(1L, TestDatabase.count(ourTransactions), "the route's own transaction, and only it");
        } finally {
            SLOW_ROUTE_MAY_FINISH.countDown();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> TestDatabase.count(
                "SELECT count(*) FROM tc_it_queue WHERE channel = 'tc-slow'") == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> TestDatabase.count(ourTransactions) == 0);
        assertEquals(1L, TestDatabase.count("SELECT count(*) FROM tc_it_saved WHERE message_id = -1"));
    }

    @Test
    void aKeysMessagesFollowEachOtherPromptlyInTransactedMode() throws Exception {
        for (int i = 1; i <= 5; i++) {
            producer.sendBodyAndHeader("pgnotify:tc-keyed", "keyed " + i, PgNotifyConstants.KEY, "account-1");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> TestDatabase.count("SELECT count(*) FROM tc_it_keyed") == 5);
        assertEquals(List.of("keyed 1", "keyed 2", "keyed 3", "keyed 4", "keyed 5"),
                jdbc.queryForList("SELECT body FROM tc_it_keyed ORDER BY seq", String.class));
    }

    @Test
    void anIdempotentConsumerSkipsTheWorkOfAMessageDeliveredAgain() throws Exception {
        producer.sendBody("pgnotify:tc-idem", "pay invoice 7");
        await().atMost(Duration.ofSeconds(30)).until(
                () -> TestDatabase.count("SELECT count(*) FROM tc_it_queue WHERE channel = 'tc-idem'") == 0);
        assertEquals(1L, TestDatabase.count("SELECT count(*) FROM tc_it_saved WHERE message_id > 0"),
                "saved once over two deliveries");
        long id = jdbc.queryForObject("SELECT message_id FROM tc_it_saved WHERE message_id > 0", Long.class);
        assertEquals(1L, TestDatabase.count("SELECT count(*) FROM camel_messageprocessed WHERE processorname = 'tc-idem'"
                                            + " AND messageid = '" + id + "'"),
                "keyed on the pgnotify message id");
    }
}
