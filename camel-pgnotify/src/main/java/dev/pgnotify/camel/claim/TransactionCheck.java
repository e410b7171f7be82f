package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What the server says of the long transactions the {@link ClaimCursor} excused: which of them hold a write lock on
 * the table, and which have ended. Asked in that order, in two statements: a transaction releases its locks only after
 * its end is recorded, so one seen without a lock and then still in progress had drawn no id from the table; asked the
 * other way round, one could commit in between and look like a transaction that never wrote.
 */
final class TransactionCheck {

    /** How a transaction stood when checked. */
    enum State {
        /** In progress, holding a write lock on the table: it may have drawn ids. */
        WRITING,
        /** In progress without a write lock on the table: it drew none before the check. */
        NOT_WRITING,
        /** Committed, or too old for the server to say (treated as committed: its range is scanned). */
        COMMITTED,
        ABORTED
    }

    /**
     * The transactions (from 64-bit ids; pg_locks shows 32-bit ones) holding a lock on the table in a mode that writing
     * takes, in this database. Parameters: xids, the table.
     */
    static final String WRITERS = "SELECT DISTINCT x.xid FROM unnest(?::bigint[]) AS x(xid)"
                                  + " JOIN pg_locks t ON t.locktype = 'transactionid'"
                                  + " AND t.transactionid = ((x.xid % 4294967296)::text)::xid"
                                  + " JOIN pg_locks r ON r.virtualtransaction = t.virtualtransaction"
                                  + " AND r.locktype = 'relation'"
                                  + " AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                                  + " AND r.relation = ?::regclass AND r.mode IN ('RowExclusiveLock',"
                                  + " 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')";

    /**
     * Each transaction's status: in progress, committed, aborted, or null when too old. Committed only once it is
     * visible in a snapshot taken now: some older minor releases reported a transaction committed from its commit
     * record on, before it left the list of running ones (under synchronous replication, for the standby's round trip),
     * and a scan then would not see its rows. Parameters: xids.
     */
    static final String STATUS = "SELECT x.xid, CASE WHEN s.status = 'committed'"
                                 + " AND NOT pg_visible_in_snapshot(x.xid::text::xid8, pg_current_snapshot())"
                                 + " THEN 'in progress' ELSE s.status END"
                                 + " FROM unnest(?::bigint[]) AS x(xid),"
                                 + " LATERAL (SELECT pg_xact_status(x.xid::text::xid8) AS status) s";

    private TransactionCheck() {
    }

    static Map<Long, State> check(Connection connection, String table, long[] xids) throws SQLException {
        Long[] ids = new Long[xids.length];
        for (int i = 0; i < xids.length; i++) {
            ids[i] = xids[i];
        }
        Set<Long> writers = new HashSet<>();
        try (PreparedStatement statement = connection.prepareStatement(WRITERS)) {
            statement.setArray(1, connection.createArrayOf("bigint", ids));
            statement.setString(2, table);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    writers.add(rs.getLong(1));
                }
            }
        }
        Map<Long, State> states = new HashMap<>();
        try (PreparedStatement statement = connection.prepareStatement(STATUS)) {
            statement.setArray(1, connection.createArrayOf("bigint", ids));
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    long xid = rs.getLong(1);
                    String status = rs.getString(2);
                    State state;
                    if ("in progress".equals(status)) {
                        state = writers.contains(xid) ? State.WRITING : State.NOT_WRITING;
                    } else if ("aborted".equals(status)) {
                        state = State.ABORTED;
                    } else {
                        state = State.COMMITTED;
                    }
                    states.put(xid, state);
                }
            }
        }
        return states;
    }
}
