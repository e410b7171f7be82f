package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Deduplication (header CamelPgNotifyDeduplicationId): an id is taken while its message exists and for the window
 * after it is acknowledged; once that is over, a message with the same id is enqueued. How long the producer's
 * transaction has been open must not matter.
 */
class DeduplicationStartTimeIT extends PgNotifyITSupport {

    private static final String TABLE = "dedup_start_it_queue";
    private static final String SEND = "pgnotify:dedup-start?table=" + TABLE + "&deduplicationWindow=0";

    private final List<String> deliveries = new CopyOnWriteArrayList<>();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(SEND + "&pollInterval=200").routeId("consumer")
                        .process(exchange -> deliveries.add(exchange.getMessage().getBody(String.class)));
            }
        };
    }

    /**
     * Session A begins a transaction; meanwhile a message with deduplication id d (window 0) is sent, delivered and
     * acknowledged: d is free again. Then A inserts a message with d and commits: it must be enqueued and delivered.
     * Today the deduplication trigger compares the id's end with now(), the start of A's transaction, which came before
     * the acknowledgement: A's message is dropped as a duplicate.
     */
    @Test
    void aMessageWhoseTransactionBeganBeforeItsIdWasFreedIsEnqueued() throws Exception {
        try (Connection a = server().connect()) {
            a.setAutoCommit(false);
            try (Statement statement = a.createStatement()) {
                statement.execute("SELECT now()");
            }

            template.sendBodyAndHeader(SEND, "first", PgNotifyConstants.DEDUPLICATION_ID, "d");
            await(Duration.ofSeconds(10)).until(() -> deliveries.contains("first"));
            await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue("SELECT count(*) FROM " + TABLE))
                    .longValue() == 0);

            int enqueued;
            try (PreparedStatement insert = a.prepareStatement("INSERT INTO " + TABLE + " (channel, body_text, dedup_id)"
                                                               + " VALUES ('dedup-start', 'second', 'd')")) {
                enqueued = insert.executeUpdate();
            }
            a.commit();
            assertEquals(1, enqueued,
                    "the id was free again (window 0, its message acknowledged): the message is enqueued");
        }
        await(Duration.ofSeconds(5)).until(() -> deliveries.contains("second"));
        assertEquals(List.of("first", "second"), deliveries);
    }
}
