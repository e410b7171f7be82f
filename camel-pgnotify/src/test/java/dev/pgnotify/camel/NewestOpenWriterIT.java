package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A message sent by the newest transaction on the server, still open while nothing newer has ended, is delivered
 * within seconds of its commit, whatever the consumer's claims settled meanwhile.
 * <p>
 * A snapshot's xmax is one past the newest transaction that has <em>ended</em>: such a writer is in no snapshot's list
 * of transactions in progress. An earlier cursor paired an idle claim's snapshot with its xmax as the bound of the
 * unlisted ones, settled the writer's id as soon as a later transaction ended, and the frontier passed it while it was
 * invisible; after its commit only the sweep's full rescan (every 60 poll intervals) found it again. Here the claims
 * must wait for the writer, excuse it after the stall bound, and scan its range once it commits.
 */
class NewestOpenWriterIT extends PgNotifyITSupport {

    private static final String TABLE = "newest_writer_queue";
    private static final long POLL_MILLIS = 300;

    private final Set<String> received = ConcurrentHashMap.newKeySet();

    @BeforeEach
    void cleanTable() {
        received.clear();
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:w?table=" + TABLE + "&pollInterval=" + POLL_MILLIS).routeId("w")
                        .process(e -> received.add(e.getMessage().getBody(String.class)));
            }
        };
    }

    @Test
    void aMessageOfTheNewestOpenTransactionIsDeliveredSoonAfterItCommits() throws Exception {
        template.sendBody("pgnotify:w?table=" + TABLE, "first");
        await(Duration.ofSeconds(20)).until(() -> received.contains("first"));
        // acknowledged: nothing of the consumer's writes after the writer below begins but its claims
        await(Duration.ofSeconds(20)).until(() -> ((Number) server().queryValue("SELECT count(*) FROM " + TABLE))
                .longValue() == 0);
        try (Connection writer = server().connect(); Connection other = server().connect()) {
            writer.setAutoCommit(false);
            try (Statement statement = writer.createStatement()) {
                // the table's trigger gives it its transaction id before the row draws its id: the newest on the server
                statement.execute("INSERT INTO " + TABLE + " (channel, body_text) VALUES ('w', 'late')");
            }
            // the consumer's idle claims read the id the writer drew, and pair that reading with their snapshots
            awaitClaims(TABLE, 4);
            try (Statement statement = other.createStatement()) {
                // a newer transaction ends: snapshots now list the writer as in progress
                statement.execute("INSERT INTO " + TABLE + " (channel, body_text) VALUES ('w', 'after')");
            }
            await(Duration.ofSeconds(20)).until(() -> received.contains("after"));
            // claims and sweeps go on past the writer's id while it is invisible
            awaitClaims(TABLE, 2 + (int) (2000 / POLL_MILLIS));
            assertFalse(received.contains("late"), "not delivered before its commit");
            writer.commit();
        }
        // the commit wakes the consumer, whose sweep checks the excused writer and scans its range
        await(Duration.ofSeconds(5)).until(() -> received.contains("late"));
    }
}
