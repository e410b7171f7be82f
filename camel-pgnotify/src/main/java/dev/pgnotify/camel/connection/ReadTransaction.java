package dev.pgnotify.camel.connection;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Reads in a transaction of their own on a connection that may be the application's: bounded by a statement timeout
 * and kept from JIT compilation for that transaction only ({@link #READ_SETTINGS}), rolled back at the end (what the
 * work would write is discarded), and the connection back in auto-commit, so that it goes back to its pool as it
 * came. For the reads whose estimates grow with a table (counts of a backlog, browsing): on a server with JIT (jit=on,
 * PostgreSQL's default, and a build with LLVM, as most packages are) a topic group's lag query took 628 ms, 563 of
 * them compiling (docs/production.md, "JIT compilation").
 */
public final class ReadTransaction {

    /**
     * An SQL expression that turns JIT compilation off until the transaction ends, for the statements planned after
     * it: whether a statement is compiled is decided when it is planned and checked when it starts, so the statement
     * that sets it is itself compiled if its own cost asks for it (a set_config never does).
     */
    public static final String JIT_OFF = "set_config('jit', 'off', true)";

    /**
     * Bounds the statements of the current transaction and keeps them from being JIT-compiled. Parameter: the bound,
     * as text ("3000" is milliseconds; "0" leaves the session's own).
     */
    public static final String READ_SETTINGS = "SELECT CASE WHEN ? <> '0' THEN set_config('statement_timeout', ?, true)"
                                               + " END, " + JIT_OFF;

    private ReadTransaction() {
    }

    /**
     * Runs the work as above on a connection in auto-commit (as {@link Database} lends them: a connection in a
     * transaction of its caller's is refused, as the rollback would discard the caller's work); {@code timeoutMillis} 0
     * leaves the session's statement timeout. A failure of the rollback (a connection closed under the call by its
     * watchdog) is attached to the work's own failure, never in its place.
     */
    public static <T> T run(Connection connection, long timeoutMillis, Database.Work<T> work) throws SQLException {
        if (!connection.getAutoCommit()) {
            throw new IllegalStateException("A read in a transaction of its own needs a connection in auto-commit");
        }
        connection.setAutoCommit(false);
        Throwable failure = null;
        try {
            try (PreparedStatement settings = connection.prepareStatement(READ_SETTINGS)) {
                settings.setString(1, Long.toString(timeoutMillis));
                settings.setString(2, Long.toString(timeoutMillis));
                settings.execute();
            }
            return work.run(connection);
        } catch (SQLException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            try {
                // read only: nothing to keep
                connection.rollback();
                connection.setAutoCommit(true);
            } catch (SQLException | RuntimeException e) {
                if (failure == null) {
                    throw e;
                }
                failure.addSuppressed(e);
            }
        }
    }
}
