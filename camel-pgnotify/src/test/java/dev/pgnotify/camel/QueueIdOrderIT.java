package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.pgnotify.camel.claim.ClaimingConsumer;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The claims' cursor reads the last id drawn from the table's sequence and takes ids as increasing. Two ordinary ways
 * to break that, and what a consumer does: a sequence cache above 1 (each session draws from a block of its own, out of
 * order) makes it claim from the channel's first row, as a plain scan would; a TRUNCATE that restarts the ids (or
 * ALTER SEQUENCE ... RESTART) makes it start again from the first row, as at a restart. Every message is delivered
 * within a few poll intervals either way.
 */
class QueueIdOrderIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueIdOrderIT.class);
    private static final String TABLE = "rv_ids_queue";

    private final Map<String, Long> received = new ConcurrentHashMap<>();

    @BeforeEach
    void cleanTable() throws Exception {
        dropQueue(TABLE);
        template.requestBodyAndHeader(uri(), null, PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_STATISTICS);
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(uri() + "&pollInterval=200").routeId("c").autoStartup(false)
                        .process(e -> received.put(e.getMessage().getBody(String.class), System.nanoTime()));
            }
        };
    }

    private static String uri() {
        return "pgnotify:c?table=" + TABLE;
    }

    private ClaimingConsumer claimingConsumer() {
        return (ClaimingConsumer) context.getRoute("c").getConsumer();
    }

    private static long insert(Connection connection, String body) throws Exception {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + TABLE
                                                                    + " (channel, body_text) VALUES ('c', ?) RETURNING id")) {
            insert.setString(1, body);
            try (ResultSet rs = insert.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * A sequence cache above 1 (a common tuning of insert-heavy tables): pg_sequence_last_value is then the top of the
     * block a session fetched, not the last id drawn, and ids up to it are drawn later, by transactions no snapshot of
     * the pair could show. Even one producer session loses most of its messages.
     */
    @Test
    void aSequenceCacheAboveOneDeliversEveryMessage() throws Exception {
        server().execute("ALTER TABLE " + TABLE + " ALTER COLUMN id SET CACHE 10");
        context.getRouteController().startRoute("c");
        Map<String, Long> ids = new java.util.TreeMap<>();
        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        try (Connection first = server().connect(); Connection second = server().connect()) {
            sentAt.put("a", System.nanoTime());
            ids.put("a", insert(first, "a"));
            for (int i = 0; i < 15; i++) {
                sentAt.put("b" + i, System.nanoTime());
                ids.put("b" + i, insert(second, "b" + i));
                Thread.sleep(100);
            }
            sentAt.put("x", System.nanoTime());
            ids.put("x", insert(first, "x"));
        }
        // the safety net would find them within 60 poll intervals (12 s) anyway: a bound below that
        await(Duration.ofSeconds(8)).until(() -> received.keySet().containsAll(ids.keySet()));
        Map<String, Long> missing = new java.util.TreeMap<>(ids);
        missing.keySet().removeAll(received.keySet());
        Map<String, Long> lateMillis = new java.util.TreeMap<>();
        received.forEach((body, at) -> lateMillis.put(body, (at - sentAt.get(body)) / 1_000_000));
        LOG.info("delivered after (ms): {}", lateMillis);
        LOG.info("sent (body=id) {}; never delivered {}; frontier {}", ids, missing, claimingConsumer().getFrontier());
        assertTrue(missing.isEmpty(), "never delivered (body=id): " + missing + "; frontier "
                                      + claimingConsumer().getFrontier());
    }

    /** TRUNCATE ... RESTART IDENTITY (purging a queue) while a consumer runs. */
    @Test
    void messagesAfterATruncateThatRestartsTheIdsAreDelivered() throws Exception {
        context.getRouteController().startRoute("c");
        try (Connection producer = server().connect()) {
            for (int i = 0; i < 20; i++) {
                insert(producer, "old" + i);
            }
            await(Duration.ofSeconds(10)).until(() -> received.size() == 20);
            await(Duration.ofSeconds(5)).until(() -> claimingConsumer().getFrontier() >= 10);
            server().execute("TRUNCATE " + TABLE + " RESTART IDENTITY");
            long id = insert(producer, "after purge");
            // within a few poll intervals, not at the safety net's pass (60 of them)
            await(Duration.ofSeconds(3)).until(() -> received.containsKey("after purge"));
            LOG.info("The first message after the purge (id {}) was delivered; frontier {}", id,
                    claimingConsumer().getFrontier());
        }
    }
}
