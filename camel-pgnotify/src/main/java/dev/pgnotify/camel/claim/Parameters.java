package dev.pgnotify.camel.claim;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;

/**
 * Binds a statement's parameters in order, so that the binding reads like the SQL it fills; the fragments of
 * {@link ItemSql} that take several parameters have a method each.
 */
public final class Parameters {

    private final PreparedStatement statement;
    private int next = 1;

    public Parameters(PreparedStatement statement) {
        this.statement = statement;
    }

    public Parameters add(Array value) throws SQLException {
        statement.setArray(next++, value);
        return this;
    }

    public Parameters add(String value) throws SQLException {
        statement.setString(next++, value);
        return this;
    }

    public Parameters add(long value) throws SQLException {
        statement.setLong(next++, value);
        return this;
    }

    public Parameters add(int value) throws SQLException {
        statement.setInt(next++, value);
        return this;
    }

    /**
     * A timestamptz as {@code getTimestamp} read it, or null: pgjdbc's own inverse of that read, so that it comes back
     * as stored (through the same calendar for dates before 1582, and 'infinity' as such).
     */
    public Parameters add(Timestamp value) throws SQLException {
        statement.setTimestamp(next++, value);
        return this;
    }

    public Parameters add(boolean value) throws SQLException {
        statement.setBoolean(next++, value);
        return this;
    }

    /** {@link ItemSql#BY_IDS}. */
    public Parameters byIds(Array ids) throws SQLException {
        return add(ids).add(ids);
    }

    /** {@link ItemSql#BY_IDS_AND_ATTEMPTS}: ids, with their attempts and fences in the same order. */
    public Parameters byIdsAndAttempts(Array ids, Array attempts, Array fences) throws SQLException {
        return byIds(ids).add(attempts).add(ids).add(fences).add(ids);
    }

    /** {@link ItemSql#BY_IDS_AND_ATTEMPTS}: these items. */
    public Parameters byIdsAndAttempts(Connection connection, List<WorkStore.Item> items) throws SQLException {
        return byIdsAndAttempts(WorkRows.ids(connection, items), WorkRows.attempts(connection, items),
                WorkRows.fences(connection, items));
    }

    /** {@link ItemSql#BY_IDS_AND_ATTEMPTS}: the items of these leases. */
    public Parameters byLeases(Connection connection, List<WorkStore.Lease> leases) throws SQLException {
        return byIdsAndAttempts(
                connection.createArrayOf("bigint", leases.stream().map(WorkStore.Lease::id).toArray(Long[]::new)),
                connection.createArrayOf("integer",
                        leases.stream().map(WorkStore.Lease::attempt).toArray(Integer[]::new)),
                connection.createArrayOf("bigint", leases.stream().map(WorkStore.Lease::fence).toArray(Long[]::new)));
    }

    /** {@link ItemSql#BY_ID_AND_ATTEMPT}: the item's id, attempt and fence. */
    public Parameters byIdAndAttempt(WorkStore.Item item) throws SQLException {
        return add(item.id()).add(item.attempt()).add(item.fence());
    }

    /** How many parameters were bound, to check against the statement's. */
    public int count() {
        return next - 1;
    }
}
