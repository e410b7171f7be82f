package dev.pgnotify.camel.springboot;

import java.sql.Connection;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.ResourceTransactionManager;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * pgnotify in Spring-managed transactions: a producer inside a transaction of a transaction manager on the
 * component's DataSource (a {@code transacted()} route, a {@code @Transactional} method, a TransactionTemplate) inserts
 * on that transaction's connection, as JdbcTemplate would; consumers are woken in the transaction's afterCommit. A
 * transacted=true consumer runs each message in a transaction of the transaction manager of that DataSource.
 * <p>
 * Only a transaction bound to the component's DataSource is joined: a transaction on another database cannot hold the
 * message, which is then committed on its own, as outside any transaction.
 */
public class SpringPgNotifyTransactions implements PgNotifyTransactions {

    private final ListableBeanFactory beans;
    private final Map<DataSource, PlatformTransactionManager> managers = new ConcurrentHashMap<>();

    public SpringPgNotifyTransactions(ListableBeanFactory beans) {
        this.beans = beans;
    }

    @Override
    public Connection transactionConnection(DataSource dataSource) {
        DataSource target = unwrap(dataSource);
        if (!TransactionSynchronizationManager.isActualTransactionActive()
            || !TransactionSynchronizationManager.hasResource(target)) {
            return null;
        }
        return DataSourceUtils.getConnection(target);
    }

    @Override
    public void release(Connection connection, DataSource dataSource) {
        DataSourceUtils.releaseConnection(connection, unwrap(dataSource));
    }

    @Override
    public void afterCommit(Runnable action) {
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                action.run();
            }
        });
    }

    @Override
    public <T> T inTransaction(DataSource dataSource, Callable<T> work) throws Exception {
        TransactionTemplate template = new TransactionTemplate(managers.computeIfAbsent(unwrap(dataSource),
                this::managerOf));
        try {
            return template.execute(status -> {
                try {
                    return work.call();
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new CheckedFailure(e);
                }
            });
        } catch (CheckedFailure e) {
            throw (Exception) e.getCause();
        }
    }

    /**
     * The transaction manager of this DataSource: the one whose resource it is, else the only one (a JTA manager has
     * no single resource).
     */
    private PlatformTransactionManager managerOf(DataSource dataSource) {
        Map<String, PlatformTransactionManager> all = beans.getBeansOfType(PlatformTransactionManager.class);
        PlatformTransactionManager match = null;
        int matches = 0;
        for (PlatformTransactionManager manager : all.values()) {
            if (manager instanceof ResourceTransactionManager resource
                && resource.getResourceFactory() instanceof DataSource managed && unwrap(managed) == dataSource) {
                match = manager;
                matches++;
            }
        }
        if (matches == 1) {
            return match;
        }
        if (matches == 0 && all.size() == 1) {
            return all.values().iterator().next();
        }
        throw new IllegalStateException("transacted=true needs the transaction manager of pgnotify's dataSource, and "
                                        + (all.isEmpty()
                                                ? "the application has none: add spring-boot-starter-jdbc (it declares"
                                                  + " a DataSourceTransactionManager) or declare one"
                                                : (matches == 0 ? "none" : matches) + " of the application's "
                                                  + new TreeSet<>(all.keySet())
                                                  + " manages it: declare a DataSourceTransactionManager on it"));
    }

    private static DataSource unwrap(DataSource dataSource) {
        // Spring keys a transaction's connection by the DataSource its manager holds, never by a proxy in front of it
        return dataSource instanceof TransactionAwareDataSourceProxy proxy && proxy.getTargetDataSource() != null
                ? proxy.getTargetDataSource() : dataSource;
    }

    /** Carries a checked exception of the work through TransactionTemplate, which rolls back on it. */
    private static final class CheckedFailure extends RuntimeException {
        CheckedFailure(Exception cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }
}
