package dev.pgnotify.camel.springboot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelExecutionException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The producer joins the caller's Spring transaction: in a transacted() route that saves an order and publishes its
 * event, a failure after both rolls both back and a success delivers the event once; the same in a
 * TransactionTemplate. The consumer polls once a minute, so prompt delivery shows that it was woken after the commit.
 */
@SpringBootTest(classes = TransactedRouteIT.App.class, properties = {
        "camel.component.pgnotify.table=tr_it_queue",
        "spring.datasource.hikari.maximum-pool-size=24",
        // 500 refused payments are expected here
        "logging.level.org.apache.camel.processor.errorhandler=OFF",
        "logging.level.org.apache.camel.spring.spi.TransactionErrorHandler=OFF" })
class TransactedRouteIT {

    private static final String EVENTS = "pgnotify:tr-events";
    static final ConcurrentLinkedQueue<String> DELIVERED = new ConcurrentLinkedQueue<>();

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        RouteBuilder routes(JdbcTemplate jdbc) {
            return new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:placeOrder").routeId("place-order")
                            .transacted()
                            .process(exchange -> jdbc.update("INSERT INTO tr_it_orders (id) VALUES (?)",
                                    exchange.getMessage().getBody(Integer.class)))
                            .setBody(simple("order ${body}"))
                            .to(EVENTS)
                            .filter(header("refuse").isEqualTo(true))
                                .throwException(new IllegalStateException("payment refused"))
                            .end();

                    from(EVENTS + "?pollInterval=60000&concurrentConsumers=2").routeId("tr-events")
                            .process(exchange -> DELIVERED.add(exchange.getMessage().getBody(String.class)));
                }
            };
        }
    }

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        TestDatabase.server().execute("DROP TABLE IF EXISTS tr_it_queue, tr_it_queue_dead, tr_it_orders CASCADE",
                "CREATE TABLE tr_it_orders (id int PRIMARY KEY)");
        TestDatabase.springDataSource(registry);
    }

    @Autowired
    ProducerTemplate producer;
    @Autowired
    TransactionTemplate transactionTemplate;
    @Autowired
    JdbcTemplate jdbc;

    @BeforeEach
    void clean() {
        jdbc.update("DELETE FROM tr_it_orders");
        DELIVERED.clear();
    }

    @Test
    void aFailureAfterSavingAndPublishingRollsBothBack() throws Exception {
        assertThrows(CamelExecutionException.class,
                () -> producer.sendBodyAndHeader("direct:placeOrder", 1, "refuse", true));
        assertEquals(0L, TestDatabase.count("SELECT count(*) FROM tr_it_orders"), "no order");
        assertEquals(0L, TestDatabase.count("SELECT count(*) FROM tr_it_queue"), "no message");

        producer.sendBody("direct:placeOrder", 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> DELIVERED.size() >= 1);
        assertEquals(List.of("order 2"), List.copyOf(DELIVERED));
        assertEquals(1L, TestDatabase.count("SELECT count(*) FROM tr_it_orders"));
        assertEmptyQueueOnceAcknowledged();
        assertEquals(List.of("order 2"), List.copyOf(DELIVERED), "delivered once");
    }

    @Test
    void aTransactionTemplateOutsideRoutesIsJoinedToo() throws Exception {
        transactionTemplate.executeWithoutResult(status -> {
            jdbc.update("INSERT INTO tr_it_orders (id) VALUES (3)");
            producer.sendBody(EVENTS, "order 3 rolled back");
            status.setRollbackOnly();
        });
        transactionTemplate.executeWithoutResult(status -> {
            jdbc.update("INSERT INTO tr_it_orders (id) VALUES (4)");
            producer.sendBody(EVENTS, "order 4");
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> DELIVERED.size() >= 1);
        assertEmptyQueueOnceAcknowledged();
        assertEquals(List.of("order 4"), List.copyOf(DELIVERED));
        assertEquals(List.of(4), jdbc.queryForList("SELECT id FROM tr_it_orders", Integer.class));
    }

    @Test
    void aBurstOfConcurrentTransactionsHalfRolledBackDeliversExactlyTheCommittedOnes() throws Exception {
        int transactions = 1_000;
        ExecutorService callers = Executors.newFixedThreadPool(16, runnable -> new Thread(runnable, "order-caller"));
        List<Future<?>> calls = new ArrayList<>();
        try {
            for (int i = 0; i < transactions; i++) {
                int id = 1_000 + i;
                calls.add(callers.submit(() -> {
                    try {
                        producer.sendBodyAndHeader("direct:placeOrder", id, "refuse", id % 2 == 1);
                    } catch (CamelExecutionException expected) {
                        // the refused half
                    }
                }));
            }
            for (Future<?> call : calls) {
                call.get(60, TimeUnit.SECONDS);
            }
        } finally {
            callers.shutdownNow();
        }
        Set<String> committed = new HashSet<>();
        for (int i = 0; i < transactions; i += 2) {
            committed.add("order " + (1_000 + i));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> DELIVERED.size() >= committed.size());
        assertEmptyQueueOnceAcknowledged();
        assertEquals(committed.size(), DELIVERED.size(), "each committed message once, no rolled-back one");
        assertEquals(committed, new HashSet<>(DELIVERED));
        assertEquals(transactions / 2L, TestDatabase.count("SELECT count(*) FROM tr_it_orders"));
        Map<String, Object> odd = jdbc.queryForMap("SELECT count(*) AS n FROM tr_it_orders WHERE id % 2 = 1");
        assertEquals(0L, ((Number) odd.get("n")).longValue(), "no refused order saved");
    }

    private static void assertEmptyQueueOnceAcknowledged() {
        await().atMost(Duration.ofSeconds(10))
                .until(() -> TestDatabase.count("SELECT count(*) FROM tr_it_queue") == 0);
    }
}
