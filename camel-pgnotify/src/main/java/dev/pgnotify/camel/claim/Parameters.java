package dev.pgnotify.camel.claim;

import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.SQLException;

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

    public Parameters add(boolean value) throws SQLException {
        statement.setBoolean(next++, value);
        return this;
    }

    /** {@link ItemSql#BY_IDS}. */
    public Parameters byIds(Array ids) throws SQLException {
        return add(ids).add(ids);
    }

    /** {@link ItemSql#BY_IDS_AND_ATTEMPTS}. */
    public Parameters byIdsAndAttempts(Array ids, Array attempts) throws SQLException {
        return byIds(ids).add(attempts).add(ids);
    }

    /** How many parameters were bound, to check against the statement's. */
    public int count() {
        return next - 1;
    }
}
