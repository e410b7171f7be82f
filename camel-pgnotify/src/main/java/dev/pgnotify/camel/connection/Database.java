package dev.pgnotify.camel.connection;

import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConnectionException;
import dev.pgnotify.camel.PgNotifyTimeoutException;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pooled connections of an endpoint, every use of which is bounded: a call gets a connection within
 * connectTimeout and runs its statements within statementTimeout, or fails with a clear, specific error
 * ({@link PgNotifyTimeoutException}, {@link PgNotifyConnectionException}). Producers and consumers run all their SQL
 * through {@link #call}, each call in auto-commit whatever the DataSource's default: a statement's effect is committed
 * when the call returns.
 */
public final class Database {

    /** Work done with a borrowed connection. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    private final DataSource dataSource;
    private final CallWatchdog watchdog;
    private final String description;
    private final long connectTimeoutMillis;
    private final long statementTimeoutMillis;
    private final Consumer<Connection> onExpired;
    private final PgNotifyTransactions transactions;

    /**
     * @param description  the endpoint and server, for messages (never a password)
     * @param onExpired    what to do with the pool when a call expired (holding this connection, or null)
     * @param transactions the application's transactions, which {@link #call} stays out of; or null
     */
    Database(DataSource dataSource, CallWatchdog watchdog, String description, long connectTimeoutMillis,
             long statementTimeoutMillis, Consumer<Connection> onExpired, PgNotifyTransactions transactions) {
        this.transactions = transactions;
        this.dataSource = dataSource;
        this.watchdog = watchdog;
        this.description = description;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.statementTimeoutMillis = statementTimeoutMillis;
        this.onExpired = onExpired;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    public CallWatchdog watchdog() {
        return watchdog;
    }

    public long statementTimeoutMillis() {
        return statementTimeoutMillis;
    }

    /** Runs the work on a pooled connection within the endpoint's bounds. */
    public <T> T call(Object owner, String what, Work<T> work) throws SQLException {
        return call(owner, what, statementTimeoutMillis, work);
    }

    /**
     * Runs the work on a pooled connection: borrowed within connectTimeout, its statements done within
     * {@code timeoutMillis}. A call past its bound has its connection closed and fails with a
     * {@link PgNotifyTimeoutException}. Outside the calling thread's transaction, if any (see
     * {@link PgNotifyTransactions#outsideTransaction}): a call commits on its own.
     */
    public <T> T call(Object owner, String what, long timeoutMillis, Work<T> work) throws SQLException {
        if (transactions == null) {
            return callHere(owner, what, timeoutMillis, work);
        }
        try {
            return outsideTransaction(() -> callHere(owner, what, timeoutMillis, work));
        } catch (SQLException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new SQLException(description + ": " + what + " could not leave the calling thread's transaction: "
                                   + e.getMessage(), e);
        }
    }

    /**
     * Runs pgnotify's own work (a producer's start, say) outside the calling thread's transaction, if any, as the
     * application's transactions integration does it; as is without one.
     */
    public <T> T outsideTransaction(Callable<T> work) throws Exception {
        return transactions == null ? work.call() : transactions.outsideTransaction(work);
    }

    private <T> T callHere(Object owner, String what, long timeoutMillis, Work<T> work) throws SQLException {
        // a call given a shorter bound than the statement timeout (at stop, say) waits no longer for a connection either
        long acquireTimeout = Math.min(connectTimeoutMillis, Math.max(timeoutMillis, 250));
        BoundedCall call = watchdog.begin(owner, what, acquireTimeout, timeoutMillis, onExpired);
        Connection connection = null;
        boolean restoreAutoCommit = false;
        try {
            try {
                connection = dataSource.getConnection();
            } catch (SQLException | RuntimeException e) {
                if (e instanceof SQLTransientConnectionException) {
                    // the pool could not hand out a working connection in time: those it holds are suspect too
                    onExpired.accept(null);
                }
                throw call.isExpired() ? timedOut(call, e) : cannotConnect(e);
            }
            call.attach(connection);
            if (!connection.getAutoCommit()) {
                // a DataSource tuned with auto-commit off (a common Hibernate setting): pgnotify's own statements are
                // each a transaction of their own, committed when they return, as their callers rely on; a pool
                // that would roll back on close would otherwise lose sends, claims and acknowledgements unseen
                connection.setAutoCommit(true);
                restoreAutoCommit = true;
            }
            return work.run(connection);
        } catch (SQLException | RuntimeException e) {
            if (e instanceof PgNotifyTimeoutException || e instanceof PgNotifyConnectionException) {
                throw e;
            }
            if (call.isExpired()) {
                throw timedOut(call, e);
            }
            if (connection != null && isReadTimeout(e)) {
                // pgjdbc's own socket timeout, the second line behind the watchdog, came first
                onExpired.accept(connection);
                throw timedOut(call, e);
            }
            if (connection != null && ServerRole.isReadOnlyFailure(e)) {
                // the server answers but takes no writes: a standby, or the old primary after a failover. Its
                // connections are replaced, as a lost connection's are, so that the next ones find the primary
                // (targetServerType=primary) instead of failing on it again
                onExpired.accept(connection);
                throw readOnly(e);
            }
            throw e;
        } finally {
            if (connection != null) {
                try {
                    if (restoreAutoCommit && !connection.isClosed()) {
                        connection.setAutoCommit(false);
                    }
                } catch (SQLException | RuntimeException e) {
                    LOG.debug("Restoring auto-commit off on a connection failed", e);
                }
                try {
                    connection.close();
                } catch (SQLException | RuntimeException e) {
                    LOG.debug("Returning a connection to the pool failed", e);
                }
            }
            call.close();
        }
    }

    /**
     * Runs the work on a connection the caller holds (a transaction's), within the statement bound: past it, the
     * connection is closed, which fails the transaction rather than leaving its thread blocked. The connection is not
     * closed otherwise.
     */
    public <T> T callOn(Connection connection, Object owner, String what, Work<T> work) throws SQLException {
        BoundedCall call = watchdog.begin(owner, what, connection, statementTimeoutMillis, onExpired);
        try {
            return work.run(connection);
        } catch (SQLException | RuntimeException e) {
            if (call.isExpired() || isReadTimeout(e)) {
                throw timedOut(call, e);
            }
            throw e;
        } finally {
            call.close();
        }
    }

    private static boolean isReadTimeout(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private SQLException timedOut(BoundedCall call, Exception cause) {
        if (call.expiryReason() != null) {
            return new PgNotifyTimeoutException(
                    description + ": " + call.what() + " was cut short after " + call.elapsedMillis() + " ms because "
                                                + call.expiryReason(),
                    call.timeoutMillis(), cause);
        }
        String bound = call.holdsConnection() ? "statementTimeout" : "connectTimeout";
        return new PgNotifyTimeoutException(
                description + ": " + call.what() + " did not complete within " + call.timeoutMillis() + " ms (" + bound
                                            + "), so its connection was closed. The database may be unreachable, the"
                                            + " connection half-open (a dead NAT entry, a firewall, a failover) or the"
                                            + " server overloaded; raise " + bound + " if such a call legitimately takes"
                                            + " longer.",
                call.timeoutMillis(), cause);
    }

    private SQLException readOnly(Exception cause) {
        return new PgNotifyConnectionException(
                description + ": the server is read-only (a standby, or the old primary after a failover): "
                                               + rootMessage(cause) + ". Its connections are replaced; with several"
                                               + " hosts in jdbcUrl and targetServerType=primary the next ones go to"
                                               + " the primary",
                cause);
    }

    private SQLException cannotConnect(Exception cause) {
        if (cause instanceof PgNotifyConnectionException connection) {
            return connection;
        }
        return new PgNotifyConnectionException(
                "Cannot get a connection to PostgreSQL for " + description + " within " + connectTimeoutMillis
                                               + " ms (connectTimeout): " + rootMessage(cause),
                cause);
    }

    /** The messages of a cause chain, for an error that must say why without a stack trace. */
    static String rootMessage(Throwable failure) {
        StringBuilder text = new StringBuilder(String.valueOf(failure.getMessage()));
        Throwable cause = failure.getCause();
        for (int depth = 0; cause != null && cause != failure && depth < 5; depth++, cause = cause.getCause()) {
            if (cause.getMessage() != null && !text.toString().contains(cause.getMessage())) {
                text.append(": ").append(cause.getMessage());
            }
        }
        return text.toString();
    }
}
