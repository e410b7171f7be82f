package dev.pgnotify.camel.quarkus;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Callable;

import javax.sql.DataSource;

import io.agroal.api.AgroalDataSource;
import jakarta.inject.Singleton;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.SystemException;
import jakarta.transaction.Transaction;
import jakarta.transaction.TransactionManager;
import jakarta.transaction.TransactionSynchronizationRegistry;

import dev.pgnotify.camel.spi.PgNotifyTransactions;

/**
 * pgnotify in JTA transactions (Narayana, as {@code @Transactional} and {@code QuarkusTransaction} begin them): a
 * producer inside an active transaction takes its connection from the Agroal DataSource, which enlists it in that
 * transaction (the same connection the application's own JDBC, Hibernate or Panache work uses), so the message commits
 * or rolls back with it; consumers are woken after the commit. A transacted=true consumer runs each message in a
 * transaction of its own, begun on the consumer's thread, which the route's JDBC work on that DataSource joins.
 * <p>
 * Agroal enlists every connection taken inside a transaction, and refuses one taken outside to be used inside: so
 * pgnotify's own work (a producer's start, its schema check, the statements it commits on its own) runs with the
 * caller's transaction suspended ({@link #outsideTransaction}).
 * <p>
 * Only an Agroal DataSource is joined: another DataSource does not enlist its connections, and a message inserted on
 * one would commit at once, whatever the transaction does. Its producers commit on their own, as outside any
 * transaction.
 */
@Singleton
public class JtaPgNotifyTransactions implements PgNotifyTransactions {

    private final TransactionManager transactions;
    private final TransactionSynchronizationRegistry synchronizations;

    public JtaPgNotifyTransactions(TransactionManager transactions,
                                   TransactionSynchronizationRegistry synchronizations) {
        this.transactions = transactions;
        this.synchronizations = synchronizations;
    }

    @Override
    public Connection transactionConnection(DataSource dataSource) throws SQLException {
        try {
            if (!isAgroal(dataSource) || !inTransaction()) {
                return null;
            }
        } catch (SystemException e) {
            throw new SQLException("Could not tell whether the calling thread runs in a transaction", e);
        }
        // Agroal hands out the connection enlisted in this transaction (enlisting one on first use); in a transaction
        // marked rollback-only it refuses, and the send fails, rather than commit on its own
        return dataSource.getConnection();
    }

    @Override
    public void release(Connection connection, DataSource dataSource) {
        try {
            // Agroal keeps an enlisted connection for its transaction until it completes
            connection.close();
        } catch (SQLException e) {
            throw new IllegalStateException("Could not hand back the transaction's connection", e);
        }
    }

    @Override
    public void afterCommit(Runnable action) {
        synchronizations.registerInterposedSynchronization(new Synchronization() {
            @Override
            public void beforeCompletion() {
            }

            @Override
            public void afterCompletion(int status) {
                if (status == Status.STATUS_COMMITTED) {
                    action.run();
                }
            }
        });
    }

    @Override
    public <T> T inTransaction(DataSource dataSource, Callable<T> work) throws Exception {
        if (!isAgroal(dataSource)) {
            throw new IllegalStateException("transacted=true in Quarkus needs pgnotify's dataSource to be an Agroal"
                                            + " DataSource (quarkus.datasource.*), whose connections join JTA"
                                            + " transactions; it is a " + dataSource.getClass().getName());
        }
        transactions.begin();
        T result;
        try {
            result = work.call();
        } catch (Exception | Error e) {
            rollback(e);
            throw e;
        }
        if (transactions.getStatus() == Status.STATUS_MARKED_ROLLBACK) {
            transactions.rollback();
            throw new IllegalStateException("The transaction was marked rollback only");
        }
        // a commit that fails throws (RollbackException, HeuristicMixedException, ...): the consumer retries
        transactions.commit();
        return result;
    }

    @Override
    public <T> T outsideTransaction(Callable<T> work) throws Exception {
        Transaction suspended = inTransaction() ? transactions.suspend() : null;
        try {
            return work.call();
        } finally {
            if (suspended != null) {
                transactions.resume(suspended);
            }
        }
    }

    private void rollback(Throwable failure) {
        try {
            transactions.rollback();
        } catch (SystemException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /** Whether the calling thread runs in a transaction, active or bound to roll back. */
    private boolean inTransaction() throws SystemException {
        return transactions.getStatus() != Status.STATUS_NO_TRANSACTION;
    }

    private static boolean isAgroal(DataSource dataSource) {
        // a CDI client proxy of the Agroal bean is an AgroalDataSource too
        return dataSource instanceof AgroalDataSource;
    }
}
