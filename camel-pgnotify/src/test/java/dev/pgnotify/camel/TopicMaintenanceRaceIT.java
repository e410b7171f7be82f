package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The topic's maintenance (the {@code <topic>_maintain} function that consumers call every few seconds) empties a slot
 * of the log once no group needs it and rotates the current slot. Whatever runs concurrently with it, it must never
 * empty a committed message that a group has not read, and it must hold a slot's ACCESS EXCLUSIVE lock no longer than
 * the truncation itself (readers of the log wait for it).
 * <p>
 * The interleavings are forced, not timed: a probe group (rows in the topic's _groups and _cuts tables, as a
 * registration makes them) whose latest cut or item holds a value large enough to be stored out of line (TOAST), and
 * a second connection that holds REINDEX on that TOAST table's index in an open transaction. A maintenance that reads
 * the probe's value then waits, at exactly that point of its check, until the test lets it go.
 */
class TopicMaintenanceRaceIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TopicMaintenanceRaceIT.class);
    private static final String TOPIC = "maint_race_it_topic";
    private static final String OPTIONS = "mode=topic&topicTable=" + TOPIC;
    private static final String PUBLISH = "pgnotify:events?" + OPTIONS;
    /** As TopicSql.maintain calls it: retention, maximum retention, rotate interval, in milliseconds. */
    private static final String MAINTAIN = "SELECT emptied, unread_by FROM " + TOPIC + "_maintain("
                                           + "? * interval '1 millisecond', ? * interval '1 millisecond',"
                                           + " ? * interval '1 millisecond')";
    private static final long HOUR = 3_600_000;

    private final List<String> delivered = new CopyOnWriteArrayList<>();
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final List<Connection> connections = new ArrayList<>();

    @BeforeEach
    void dropTopic() throws Exception {
        TopicDeliveryIT.dropTopic(TOPIC);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Connection connection : connections) {
            connection.close();
        }
        executor.shutdownNow();
        assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:events?" + OPTIONS + "&group=real").routeId("real").autoStartup(false)
                        .process(exchange -> delivered.add(exchange.getMessage().getBody(String.class)));
            }
        };
    }

    /**
     * Transaction T inserts message T into the current slot and stays open; group real registers (T is in progress in
     * its starting snapshot, so T's message is for it); the log rotates. The maintenance then checks the slot: T's row
     * is invisible, no group needs the slot, and it goes on to LOCK ... NOWAIT and TRUNCATE. T commits between the
     * check and the lock (the check is held at its read of the probe group's cut). T's committed message must stay in
     * the log and reach group real. Today the lock succeeds once T has committed, and TRUNCATE removes it unread.
     */
    @Test
    void aMessageCommittedWhileTheMaintenanceChecksItsSlotIsNotEmptiedUnread() throws Exception {
        template.sendBody(PUBLISH, "R");
        Connection t = connect();
        t.setAutoCommit(false);
        long tId = queryLong(t, "INSERT INTO " + TOPIC + " (channel, body_text) VALUES ('events', 'T') RETURNING id");
        // registered as a consumer's start registers a group: T, in progress, is in its starting snapshot
        server().execute("INSERT INTO " + TOPIC + "_groups (channel, group_name) VALUES ('events', 'real')",
                "INSERT INTO " + TOPIC + "_cuts (channel, group_name, snapshot, messages)"
                + " VALUES ('events', 'real', pg_current_snapshot(), 0)");
        // the probe: its latest cut's snapshot lists 5,000 transactions far beyond this server's (it needs no message)
        server().execute("INSERT INTO " + TOPIC + "_groups (channel, group_name) VALUES ('events', 'probe')",
                "INSERT INTO " + TOPIC + "_cuts (channel, group_name, snapshot, messages)"
                + " SELECT 'events', 'probe', ('1000000000:2000000000:' || string_agg((1000000000 + g * 997"
                + " + (random() * 900)::int)::text, ',' ORDER BY g))::pg_snapshot, 0 FROM generate_series(1, 5000) g");
        assertEquals(Boolean.TRUE, server().queryValue("SELECT pg_column_toast_chunk_id(snapshot) IS NOT NULL FROM "
                                                       + TOPIC + "_cuts WHERE group_name = 'probe'"),
                "the probe's snapshot is stored out of line");
        // the current slot moves on (the next one is empty); T's row stays in the slot it was inserted into
        maintain(connect(), HOUR, 7 * 24 * HOUR, 0);
        assertEquals(1L, value("SELECT slot FROM " + TOPIC + "_state"));

        Connection hold = holdToastIndex(TOPIC + "_cuts");
        Connection maintainer = connect();
        int maintainerPid = (int) queryLong(maintainer, "SELECT pg_backend_pid()");
        Future<List<String>> maintenance = executor.submit(() -> maintain(maintainer, 0, 7 * 24 * HOUR, HOUR));
        boolean heldInCheck = awaitWaitingOrDone(maintainerPid, maintenance);

        t.commit();
        hold.rollback();
        List<String> emptied = maintenance.get(10, TimeUnit.SECONDS);
        LOG.info("Maintenance {} T committed: it emptied {}", heldInCheck ? "held in its check while" : "done before",
                emptied);
        assertEquals(1L, value("SELECT count(*) FROM " + TOPIC + " WHERE id = " + tId),
                "T's committed message, which group real had not read, is still in the log (emptied: " + emptied + ")");

        server().execute("DELETE FROM " + TOPIC + "_cuts WHERE group_name = 'probe'",
                "DELETE FROM " + TOPIC + "_groups WHERE group_name = 'probe'");
        context.getRouteController().startRoute("real");
        await(Duration.ofSeconds(10)).alias("group real received T").until(() -> delivered.contains("T"));
        assertEquals(List.of("T"), delivered);
    }

    /**
     * Slot 0 is past the maximum retention and is emptied; the check of slot 1 that follows is slow (held here at its
     * read of the probe group's item). A reader of the log through the parent table, as every cut and load is, must not
     * wait longer than a truncation (200 ms). Today the function keeps slot 0's ACCESS EXCLUSIVE lock until it has
     * checked every other slot and rotated: the reader waits for all of it (here, until the test lets the check go).
     */
    @Test
    void aReaderOfTheLogWaitsForATruncationNotForTheWholeMaintenance() throws Exception {
        template.sendBody(PUBLISH, "a");
        long x0 = value("SELECT xid::text::bigint FROM " + TOPIC + " WHERE body_text = 'a'");
        maintain(connect(), HOUR, 7 * 24 * HOUR, 0);
        template.sendBody(PUBLISH, "b");
        maintain(connect(), HOUR, 7 * 24 * HOUR, 0);
        assertEquals(2L, value("SELECT slot FROM " + TOPIC + "_state"), "slots 0 and 1 are not current");
        // the probe has read up to now except a's transaction (slot 0 is its); its one item's ids are stored out of
        // line
        server().execute("INSERT INTO " + TOPIC + "_groups (channel, group_name) VALUES ('events', 'probe')",
                "INSERT INTO " + TOPIC + "_cuts (channel, group_name, snapshot, messages) SELECT 'events', 'probe',"
                + " (" + x0 + " || ':' || pg_snapshot_xmax(pg_current_snapshot()) || ':' || " + x0
                + ")::pg_snapshot, 0",
                "INSERT INTO " + TOPIC + "_items (channel, group_name, ids) SELECT 'events', 'probe',"
                + " array_agg((random() * 1e15)::bigint) FROM generate_series(1, 20000)");
        assertEquals(Boolean.TRUE, server().queryValue("SELECT pg_column_toast_chunk_id(ids) IS NOT NULL FROM " + TOPIC
                                                       + "_items WHERE group_name = 'probe'"),
                "the probe's item is stored out of line");

        Connection hold = holdToastIndex(TOPIC + "_items");
        Connection maintainer = connect();
        int maintainerPid = (int) queryLong(maintainer, "SELECT pg_backend_pid()");
        // a maximum retention of 0: slot 0 is emptied however needed
        Future<List<String>> maintenance = executor.submit(() -> maintain(maintainer, 0, 0, HOUR));
        boolean heldInCheck = awaitWaitingOrDone(maintainerPid, maintenance);

        Connection reader = connect();
        long started = System.nanoTime();
        Future<Long> read = executor.submit(() -> {
            queryLong(reader, "SELECT count(*) FROM " + TOPIC + " WHERE channel = 'events'");
            return System.nanoTime() - started;
        });
        Long waitedNanos = null;
        try {
            waitedNanos = read.get(2, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            // still waiting: released below
        } finally {
            hold.rollback();
        }
        List<String> emptied = maintenance.get(10, TimeUnit.SECONDS);
        long waited = waitedNanos != null ? waitedNanos : read.get(10, TimeUnit.SECONDS);
        LOG.info("A reader of the log waited {} ms while the maintenance ({}) was {}", waited / 1_000_000, emptied,
                heldInCheck ? "held in the check of a later slot" : "done");
        assertTrue(waited < TimeUnit.MILLISECONDS.toNanos(200), "a reader of the log waited " + waited / 1_000_000
                                                                + " ms for the maintenance (emptied " + emptied + ")");
    }

    /**
     * A connection holding REINDEX of the index of this table's TOAST table in an open transaction: whoever reads a
     * value stored out of line in the table waits, at that read, until it ends.
     */
    private Connection holdToastIndex(String table) throws SQLException {
        Connection hold = connect();
        hold.setAutoCommit(false);
        String index;
        try (Statement statement = hold.createStatement();
             ResultSet rs = statement.executeQuery("SELECT i.indexrelid::regclass::text FROM pg_class c JOIN pg_index i"
                                                   + " ON i.indrelid = c.reltoastrelid WHERE c.oid = '" + table
                                                   + "'::regclass")) {
            assertTrue(rs.next(), table + " has a TOAST table");
            index = rs.getString(1);
        }
        try (Statement statement = hold.createStatement()) {
            statement.execute("REINDEX INDEX " + index);
        }
        return hold;
    }

    /**
     * Waits until the maintenance waits for a lock (held in its check) or has returned (an implementation that took no
     * such path); returns whether it was held.
     */
    private boolean awaitWaitingOrDone(int pid, Future<?> maintenance) {
        await(Duration.ofSeconds(10)).until(() -> maintenance.isDone()
                                                  || value("SELECT count(*) FROM pg_locks WHERE pid = " + pid
                                                           + " AND NOT granted") > 0);
        return !maintenance.isDone();
    }

    private static List<String> maintain(Connection connection, long retention, long maxRetention, long rotateInterval)
            throws SQLException {
        try (PreparedStatement maintain = connection.prepareStatement(MAINTAIN)) {
            maintain.setLong(1, retention);
            maintain.setLong(2, maxRetention);
            maintain.setLong(3, rotateInterval);
            List<String> emptied = new ArrayList<>();
            try (ResultSet rs = maintain.executeQuery()) {
                while (rs.next()) {
                    String unreadBy = rs.getString(2);
                    emptied.add("slot " + rs.getInt(1) + (unreadBy != null ? " unread by " + unreadBy : ""));
                }
            }
            return emptied;
        }
    }

    /** A one-row, one-column number, on a connection of its own. */
    private static long value(String sql) throws SQLException {
        Object value = server().queryValue(sql);
        assertNotNull(value, sql);
        return ((Number) value).longValue();
    }

    private Connection connect() throws SQLException {
        Connection connection = server().connect();
        connections.add(connection);
        return connection;
    }

    private static long queryLong(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            Object value = rs.getObject(1);
            assertNotNull(value, sql);
            return ((Number) value).longValue();
        }
    }
}
