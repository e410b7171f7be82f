package dev.pgnotify.camel.spi;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Callable;

import javax.sql.DataSource;

/**
 * How pgnotify takes part in the application's database transactions, kept behind this interface so that the component
 * depends on no transaction framework (as camel-jdbc's ConnectionStrategy does). An implementation binds it to a
 * framework's transaction synchronization (Spring's DataSourceUtils and TransactionSynchronization, say); any single bean of this type in the registry is used (option {@code transactions},
 * autowired).
 * <p>
 * A producer whose exchange runs inside a transaction on the endpoint's DataSource inserts on that transaction's
 * connection, and wakes consumers only after it commits: a wake-up before the commit would find nothing and delay
 * delivery to the next poll.
 */
public interface PgNotifyTransactions {

    /**
     * The connection of the transaction the calling thread runs in on this DataSource, or null when it runs in none.
     * The caller neither commits nor closes it: it hands it back with {@link #release}.
     */
    Connection transactionConnection(DataSource dataSource) throws SQLException;

    /** Hands back a connection obtained from {@link #transactionConnection}. */
    void release(Connection connection, DataSource dataSource);

    /**
     * Runs the action once the transaction the calling thread runs in commits, never if it rolls back. Called only
     * while {@link #transactionConnection} returned a connection on this thread.
     */
    void afterCommit(Runnable action);

    /**
     * Runs the work in a transaction on this DataSource, for a consumer with transacted=true: begun on the calling
     * thread, so that the route's own JDBC work on that DataSource joins it, committed when the work returns, rolled
     * back when it throws (the exception is rethrown as is). A commit that fails throws too.
     */
    <T> T inTransaction(DataSource dataSource, Callable<T> work) throws Exception;

    /**
     * Runs pgnotify's own work outside the transaction the calling thread runs in, if any: a producer's start (the
     * schema check or installation, the wake-up connection) and the statements it runs on pooled connections, each
     * committed on its own. Needed where every connection taken from the DataSource inside a transaction is enlisted in
     * it (JTA with Agroal, say): there the work runs with the transaction suspended. Where a connection joins a
     * transaction only when asked to (Spring's DataSourceUtils), the default runs the work as is.
     */
    default <T> T outsideTransaction(Callable<T> work) throws Exception {
        return work.call();
    }
}
