package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A long transaction that wrote into the queue and stays open is excused by the claims' cursor, and its ids wait in a
 * pending range until it ends. While it does, the wake-ups of the stream ask only for the cheap check of that
 * transaction (pg_locks, pg_xact_status), never for a sweep, and nothing re-walks the dead index entries it keeps from
 * being removed: over 10 s of 200 messages a second, the index tuples read on the table stay within a small multiple of
 * the same stream's without the long writer. (An earlier version ran a full sweep on each wake-up, each re-walking
 * everything from the pending range up: 8.5 million index tuples against 124,000.) Between the two, the idle consumer
 * must read next to nothing: its claims settle past the writer on a quiet server too. (A cursor that paired an idle
 * claim's snapshot alone waited for some other transaction to end before it settled anything; when none did, every
 * idle claim walked the 20,000 dead entries again, 20,000 index tuples a poll, and the readings never settled.)
 */
class LongWriterSweepCostIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(LongWriterSweepCostIT.class);
    private static final String TABLE = "rv_pending_queue";

    private final Map<String, Long> received = new ConcurrentHashMap<>();

    @BeforeEach
    void cleanTable() throws Exception {
        dropQueue(TABLE);
        template.requestBodyAndHeader("pgnotify:c?table=" + TABLE, null, PgNotifyConstants.OPERATION,
                PgNotifyConstants.OPERATION_STATISTICS);
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:c?table=" + TABLE + "&pollInterval=1000").routeId("c")
                        .process(e -> received.put(e.getMessage().getBody(String.class), System.nanoTime()));
            }
        };
    }

    @Test
    void aLongWriterDoesNotMakeTheStreamReadItsDeadEntriesAgain() throws Exception {
        long withLongWriter = run(true);
        long without = run(false);
        LOG.info("10 s of 200 messages/s: {} index tuples read with a long writer open, {} without it", withLongWriter,
                without);
        assertTrue(withLongWriter <= 3 * without + 50_000, withLongWriter + " index tuples read with a long writer"
                                                           + " open, " + without + " without it");
    }

    /** Index tuples read on the table in 10 s of a steady stream; with or without a long writer. */
    private long run(boolean longWriterOpen) throws Exception {
        received.clear();
        try (Connection longWriter = server().connect(); Connection producer = server().connect();
             PreparedStatement insert = producer.prepareStatement("INSERT INTO " + TABLE
                                                                  + " (channel, body_text) VALUES ('c', ?)")) {
            longWriter.setAutoCommit(false);
            if (longWriterOpen) {
                try (Statement statement = longWriter.createStatement()) {
                    statement.execute("INSERT INTO " + TABLE + " (channel, body_text) VALUES ('c', 'long')");
                }
            }
            // a backlog, acknowledged: rows below the frontier that vacuum may not remove while the writer is open
            try (Statement statement = producer.createStatement()) {
                statement.execute("INSERT INTO " + TABLE + " (channel, body_text) SELECT 'c', 'pre' || i"
                                  + " FROM generate_series(1, 20000) i");
                // statistics for the backlog, as autovacuum's ANALYZE would give them within a minute: without them the
                // planner may read the whole backlog for every claim (a bitmap scan and a sort), whatever the writer
                statement.execute("ANALYZE " + TABLE);
            }
            await(Duration.ofSeconds(60)).until(() -> received.size() >= 20000);
            long tuplesBefore = indexTuplesRead();
            long started = System.nanoTime();
            for (int i = 0; System.nanoTime() - started < 10_000_000_000L; i++) {
                insert.setString(1, "s" + i);
                insert.executeUpdate();
                Thread.sleep(5);
            }
            long tuples = indexTuplesRead() - tuplesBefore;
            longWriter.commit();
            return tuples;
        }
    }

    /**
     * The table's index tuples read, once the other sessions' statistics have reached the server: a busy session sends
     * its counts at most once a second, and a contended one later, so the reading must stay nearly the same over two
     * gaps in a row (else the backlog's drain, just before, would be counted in the stream's window). An idle consumer
     * reads a few tuples a second; one that kept re-walking the dead entries would read thousands, and the readings
     * in the failure say so.
     */
    private static long indexTuplesRead() throws Exception {
        List<Long> readings = Collections.synchronizedList(new ArrayList<>());
        try {
            return await(Duration.ofSeconds(60)).pollDelay(Duration.ofMillis(1500))
                    .pollInterval(Duration.ofMillis(1500)).until(() -> {
                        long now = ((Number) server().queryValue("SELECT coalesce(sum(idx_tup_read), 0) FROM"
                                                                 + " pg_stat_user_indexes WHERE relname = '" + TABLE
                                                                 + "'")).longValue();
                        readings.add(now);
                        int n = readings.size();
                        boolean stable = n >= 3 && now - readings.get(n - 3) < 2_000;
                        return stable ? now : null;
                    }, Objects::nonNull);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("The index tuples read on " + TABLE + " did not settle while the consumer was"
                                     + " idle; readings 1.5 s apart: " + readings, e);
        }
    }
}
