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

    /**
     * In recovery (a hot standby); read-only (a standby, or default_transaction_read_only on); and where
     * default_transaction_read_only comes from (pg_settings.source: "configuration file" for a server made read-only,
     * "user", "database", "database user" for a role or database, "client" or "session" for the connection's own).
     */
    static final String READ = "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on',"
                               + " (SELECT s.source FROM pg_settings s WHERE s.name = 'default_transaction_read_only')";

    /** The start of a reason that is the role's, database's or connection's own, not the server's. */
    private static final String NOT_THE_SERVER = "is read-only for this ";

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
                String source = rs.getString(3);
                if ("user".equals(source) || "database".equals(source) || "database user".equals(source)) {
                    return NOT_THE_SERVER + "role or database: default_transaction_read_only is on for it (ALTER ROLE"
                           + " or ALTER DATABASE ... SET, source '" + source + "'), where NOTIFY and writes fail";
                }
                if ("client".equals(source) || "session".equals(source)) {
                    return NOT_THE_SERVER + "connection: default_transaction_read_only is on in it (the URL's"
                           + " options, or the DataSource's connection settings), where NOTIFY and writes fail";
                }
                return "is read-only (transaction_read_only is on), where NOTIFY and writes fail";
            }
            return null;
        }
    }

    /** What a user reads when pgnotify is pointed at a server that cannot take writes. */
    public static String refusal(String server, String why) {
        if (why.startsWith(NOT_THE_SERVER)) {
            // a writable primary, refused by a setting of the role's: another host would not help (pgjdbc's
            // targetServerType=primary would take this one for a standby too)
            return server + " " + why + ": pgnotify needs to write. Connect as a role that may (ALTER ROLE ... RESET"
                   + " default_transaction_read_only), or remove the setting from the connection";
        }
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
