package dev.pgnotify.camel;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.pgnotify.camel.test.PgBouncer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Behind a real PgBouncer in transaction mode (Debian's pgbouncer 1.18 in CI, which knows no prepared statements):
 * with listen=false, queues and topics work end to end, without LISTEN or session state; with LISTEN, the start fails
 * with a message that names listen=false, instead of never waking. In session mode LISTEN works and passes the check.
 */
class PgBouncerIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(PgBouncerIT.class);
    private static final String TABLE = "pgbouncer_it_queue";

    private static PgBouncer bouncer;

    @BeforeAll
    static void startPgBouncer() throws Exception {
        bouncer = PgBouncer.inFrontOf(server(), "transaction");
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead, " + TABLE + "_dedup,"
                         + " pgbouncer_it_topic, pgbouncer_it_topic_dead CASCADE");
    }

    @AfterAll
    static void stopPgBouncer() {
        if (bouncer != null) {
            bouncer.close();
        }
    }

    @Test
    void withListenFalseAQueueWorksEndToEndThroughTransactionPooling() throws Exception {
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        Map<String, Instant> receivedAt = new ConcurrentHashMap<>();
        CamelContext consumer = application(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:orders?table=" + TABLE + "&listen=false&concurrentConsumers=2&pollInterval=500")
                        .process(exchange -> {
                            String body = exchange.getMessage().getBody(String.class);
                            deliveries.computeIfAbsent(body, b -> new AtomicInteger()).incrementAndGet();
                            receivedAt.putIfAbsent(body, Instant.now());
                        });
            }
        });
        try {
            CamelContext producer = application(null);
            try {
                String uri = "pgnotify:orders?table=" + TABLE + "&listen=false";
                for (int i = 0; i < 500; i++) {
                    producer.createProducerTemplate().sendBodyAndHeader(uri, "order " + i, PgNotifyConstants.KEY,
                            "customer-" + (i % 10));
                }
                Instant dueAt = Instant.now().plusMillis(300);
                producer.createProducerTemplate().sendBodyAndHeader(uri, "delayed", PgNotifyConstants.DELIVER_AT,
                        dueAt);
                await(Duration.ofSeconds(30)).until(() -> deliveries.size() == 501);
                assertTrue(deliveries.values().stream().allMatch(count -> count.get() == 1), deliveries.toString());
                assertTrue(!receivedAt.get("delayed").isBefore(dueAt));

                // idle: the consumers poll less and less often, up to pollInterval; a message sent now still comes
                // within about that
                await(Duration.ofSeconds(5)).pollDelay(Duration.ofSeconds(2)).until(() -> true);
                Instant sent = Instant.now();
                producer.createProducerTemplate().sendBody(uri, "after a pause");
                await(Duration.ofSeconds(5)).until(() -> receivedAt.containsKey("after a pause"));
                long latency = Duration.between(sent, receivedAt.get("after a pause")).toMillis();
                LOG.info("Through PgBouncer (transaction pooling, listen=false): a message sent after 2 s idle came in"
                         + " {} ms", latency);
                assertTrue(latency <= 500 + 200, "came in " + latency + " ms");

                // no LISTEN anywhere, and everything went through PgBouncer
                assertEquals(0L, ourListenerConnections());
                assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE)).longValue());
            } finally {
                producer.stop();
            }
        } finally {
            consumer.stop();
        }
    }

    @Test
    void withListenFalseATopicWorksThroughTransactionPooling() throws Exception {
        Set<String> received = ConcurrentHashMap.newKeySet();
        CamelContext consumer = application(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:prices?mode=topic&table=pgbouncer_it_topic&group=billing&listen=false"
                     + "&groupStart=earliest")
                        .process(exchange -> received.add(exchange.getMessage().getBody(String.class)));
            }
        });
        try {
            CamelContext producer = application(null);
            try {
                for (int i = 0; i < 100; i++) {
                    producer.createProducerTemplate().sendBody(
                            "pgnotify:prices?mode=topic&table=pgbouncer_it_topic&listen=false", "price " + i);
                }
                await(Duration.ofSeconds(20)).until(() -> received.size() == 100);
            } finally {
                producer.stop();
            }
        } finally {
            consumer.stop();
        }
    }

    @Test
    void listenBehindTransactionPoolingFailsAtStartNamingTheOption() throws Exception {
        CamelContext application = application(null);
        try {
            Exception e = assertThrows(Exception.class, () -> application.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:orders?table=" + TABLE + "&connectTimeout=2000").to("log:never");
                }
            }));
            String message = causeMessages(e);
            LOG.info("Starting a consumer with LISTEN behind PgBouncer in transaction mode fails: {}", message);
            assertTrue(message.contains("receives no notifications") && message.contains("transaction mode")
                       && message.contains("listen=false"), message);
        } finally {
            application.stop();
        }
    }

    @Test
    void listenThroughSessionPoolingPassesTheCheckAndWakesConsumers() throws Exception {
        try (PgBouncer sessionPooling = PgBouncer.inFrontOf(server(), "session")) {
            Set<String> received = ConcurrentHashMap.newKeySet();
            CamelContext consumer = application(sessionPooling, new RouteBuilder() {
                @Override
                public void configure() {
                    // polls once a minute: only a wake-up explains a prompt delivery
                    from("pgnotify:sessions?table=" + TABLE + "&pollInterval=60s")
                            .process(exchange -> received.add(exchange.getMessage().getBody(String.class)));
                }
            });
            try {
                CamelContext producer = application(sessionPooling, null);
                try {
                    producer.createProducerTemplate().sendBody("pgnotify:sessions?table=" + TABLE, "woken");
                    await(Duration.ofSeconds(5)).until(() -> received.contains("woken"));
                } finally {
                    producer.stop();
                }
            } finally {
                consumer.stop();
            }
        }
    }

    private static CamelContext application(RouteBuilder routes) throws Exception {
        return application(bouncer, routes);
    }

    /** An application of its own whose pgnotify goes through PgBouncer. */
    private static CamelContext application(PgBouncer through, RouteBuilder routes) throws Exception {
        return application(through.jdbcUrl(), server().username(), server().password(), routes);
    }
}
