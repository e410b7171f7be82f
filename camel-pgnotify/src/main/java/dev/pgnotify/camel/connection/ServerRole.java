package dev.pgnotify.camel.connection;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Whether a server can take pgnotify's writes: not a hot standby (in recovery), not read-only. After a failover the old
 * address may keep answering as a standby or read-only server, where every INSERT, claim and acknowledgement fails and
 * a LISTEN hears nothing (NOTIFY is not replicated); pgjdbc's {@code targetServerType=primary} finds the writable
 * server among the hosts of a multi-host URL, but only when a connection is opened. So pgnotify refuses such a server
 * at start, and treats a read-only failure of a connection in use as a lost connection: replaced, not retried on.
 */
public final class ServerRole {

    /** SQLSTATE read_only_sql_transaction: a write on a standby or in a read-only transaction. */
    public static final String READ_ONLY_SQL_STATE = "25006";

    /** In recovery (a hot standby), and read-only (a standby, or default_transaction_read_only on). */
    static final String READ = "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'";

    private ServerRole() {
    }

    /** Why the server cannot take writes, or null when it can. */
    public static String whyNotWritable(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(READ)) {
            rs.next();
            if (rs.getBoolean(1)) {
                return "is a hot standby (in recovery), where LISTEN, NOTIFY and writes fail";
            }
            if (rs.getBoolean(2)) {
                return "is read-only (transaction_read_only is on), where NOTIFY and writes fail";
            }
            return null;
        }
    }

    /** What a user reads when pgnotify is pointed at a server that cannot take writes. */
    public static String refusal(String server, String why) {
        return server + " " + why + ": pgnotify needs the primary. Point jdbcUrl at the primary, or list every host and"
               + " add targetServerType=primary (jdbc:postgresql://host1:5432,host2:5432/db?targetServerType=primary),"
               + " so that each new connection finds the writable server, also after a failover";
    }

    /** Whether a failure says the server is read-only (a standby, or a demoted primary after a failover). */
    public static boolean isReadOnlyFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && READ_ONLY_SQL_STATE.equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }
}
