package dev.pgnotify.camel.claim;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.postgresql.PGConnection;
import org.postgresql.PGStatement;

/** What every mode's work store binds and reads the same way: items' ids and attempts, and the sweep's rows. */
public final class WorkRows {

    private WorkRows() {
    }

    /**
     * Binary results from the first execution, so that a bytea body arrives as its bytes, not as hex text twice its
     * size; not on a connection that prepares nothing on the server (prepareThreshold=0, as behind a pooler in
     * transaction mode, where a statement prepared on one server connection is unknown on the next).
     */
    public static void preferBinaryResults(PreparedStatement statement) throws SQLException {
        if (statement.getConnection().unwrap(PGConnection.class).getPrepareThreshold() != 0) {
            statement.unwrap(PGStatement.class).setPrepareThreshold(-1);
        }
    }

    /**
     * A claim's SQL after its settings, in the same round trip and transaction: {@link ItemSql#PLANNED_ONCE} where the
     * connection prepares statements on the server; {@link ItemSql#PLANNED_EACH_TIME} where it prepares none
     * (prepareThreshold=0, behind a pooler in transaction mode): there a generic plan would be made afresh on every
     * claim, and worse than a custom one.
     */
    public static String withSettings(Connection connection, String claim) throws SQLException {
        return (preparesOnServer(connection) ? ItemSql.PLANNED_ONCE : ItemSql.PLANNED_EACH_TIME) + "; " + claim;
    }

    /**
     * A statement that writes several items by id outside a claim, after {@link ItemSql#IN_ID_ORDER}, in the same round
     * trip and transaction: it locks them in ascending id order. Execute it with {@link #executeWrite}.
     */
    public static String inIdOrder(String write) {
        return ItemSql.IN_ID_ORDER + "; " + write;
    }

    /**
     * A scan of the sweep's (by id range) after {@link ItemSql#INDEX_ORDER}, in the same round trip and transaction: it
     * reads through an index in index order. Execute it with {@link #live} or {@link #firstId}.
     */
    public static String inIndexOrder(String scan) {
        return ItemSql.INDEX_ORDER + "; " + scan;
    }

    /** Executes a statement made by {@link #inIdOrder}: the settings' result skipped; returns the rows written. */
    public static int executeWrite(PreparedStatement statement) throws SQLException {
        executePastSettings(statement);
        return statement.getUpdateCount();
    }

    /**
     * Executes a claim made by {@link #withSettings}: prepared on the server from its first execution, so that results
     * are binary from the second (a bytea body arrives as hex text, twice its size, in the first: forcing binary results
     * from the first would fail, as the settings' statement shares the round trip); the settings' result skipped.
     */
    public static void executeClaim(PreparedStatement statement) throws SQLException {
        if (preparesOnServer(statement.getConnection())) {
            statement.unwrap(PGStatement.class).setPrepareThreshold(1);
        }
        executePastSettings(statement);
    }

    private static boolean preparesOnServer(Connection connection) throws SQLException {
        return connection.unwrap(PGConnection.class).getPrepareThreshold() != 0;
    }

    /** The items' ids, as a bigint[] parameter. */
    public static Array ids(Connection connection, List<WorkStore.Item> items) throws SQLException {
        return connection.createArrayOf("bigint", items.stream().map(WorkStore.Item::id).toArray(Long[]::new));
    }

    /** The attempts the items were claimed as (their fencing tokens), as an integer[] parameter. */
    public static Array attempts(Connection connection, List<WorkStore.Item> items) throws SQLException {
        return connection.createArrayOf("integer",
                items.stream().map(WorkStore.Item::attempt).toArray(Integer[]::new));
    }

    /** The items' fences ({@link ItemSql#FENCE}), as a bigint[] parameter. */
    public static Array fences(Connection connection, List<WorkStore.Item> items) throws SQLException {
        return connection.createArrayOf("bigint", items.stream().map(WorkStore.Item::fence).toArray(Long[]::new));
    }

    /** Rows of (id, milliseconds until due) as the sweep's range scan ({@link #inIndexOrder}) returns them. */
    public static List<long[]> live(PreparedStatement scan) throws SQLException {
        List<long[]> rows = new ArrayList<>();
        try (ResultSet rs = afterSettings(scan)) {
            while (rs.next()) {
                rows.add(new long[] { rs.getLong(1), rs.getLong(2) });
            }
        }
        return rows;
    }

    /** The id a statement made by {@link #inIndexOrder} returns, or null when it returns none. */
    public static Long firstId(PreparedStatement scan) throws SQLException {
        try (ResultSet rs = afterSettings(scan)) {
            return rs.next() ? rs.getLong(1) : null;
        }
    }

    /** The result of a statement made by {@link #inIndexOrder}, its settings' result skipped. */
    private static ResultSet afterSettings(PreparedStatement scan) throws SQLException {
        executePastSettings(scan);
        return scan.getResultSet();
    }

    /** Executes a statement that follows its settings in one round trip, and moves past the settings' result. */
    private static void executePastSettings(PreparedStatement statement) throws SQLException {
        statement.execute();
        statement.getMoreResults();
    }

    /** Rows of (id, milliseconds until due) as the sweep's look-up by id returns them, in order. */
    public static Map<Long, Long> liveById(PreparedStatement lookUp) throws SQLException {
        Map<Long, Long> rows = new LinkedHashMap<>();
        try (ResultSet rs = lookUp.executeQuery()) {
            while (rs.next()) {
                rows.put(rs.getLong(1), rs.getLong(2));
            }
        }
        return rows;
    }
}
