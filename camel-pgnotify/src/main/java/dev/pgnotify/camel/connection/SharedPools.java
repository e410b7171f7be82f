package dev.pgnotify.camel.connection;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.pgnotify.camel.PgNotifyConnectionException;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.ExecutorServiceManager;
import org.apache.camel.util.concurrent.CamelThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HikariCP pools a component builds from JDBC URLs: one per distinct URL, user and password, shared by the
 * endpoints that use it and closed when the last of them stops.
 */
public final class SharedPools {

    private static final Logger LOG = LoggerFactory.getLogger(SharedPools.class);
    private static final AtomicInteger POOL_COUNTER = new AtomicInteger();

    private final CamelContext camelContext;
    private final Map<Key, SharedPool> pools = new HashMap<>();

    public SharedPools(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    /**
     * Returns the shared pool for these settings, creating it (and connecting once, so that a wrong URL or password
     * fails here) if it does not exist yet. Every call must be matched by a {@link #release(DataSource)}.
     *
     * @param sessionFree for a pooler in transaction mode: no session settings, no server-side prepared statements
     */
    public synchronized DataSource acquire(
            String jdbcUrl, String username, String password, int maxPoolSize, long connectTimeoutMillis,
            long statementTimeoutMillis, boolean sessionFree)
            throws PgNotifyConnectionException {
        Key key = new Key(jdbcUrl, username, password, connectTimeoutMillis, statementTimeoutMillis, sessionFree);
        SharedPool pool = pools.get(key);
        if (pool == null) {
            pool = open(key, maxPoolSize);
            pools.put(key, pool);
        }
        pool.users++;
        return pool.dataSource;
    }

    public synchronized void release(DataSource dataSource) {
        pools.entrySet().removeIf(entry -> {
            SharedPool pool = entry.getValue();
            if (pool.dataSource != dataSource || --pool.users > 0) {
                return false;
            }
            pool.close();
            return true;
        });
    }

    public synchronized void closeAll() {
        pools.values().forEach(SharedPool::close);
        pools.clear();
    }

    /** Whether this DataSource is one of the pools built here (and may be evicted after a timeout). */
    public synchronized boolean isShared(DataSource dataSource) {
        return pools.values().stream().anyMatch(pool -> pool.dataSource == dataSource);
    }

    private SharedPool open(Key key, int maxPoolSize) throws PgNotifyConnectionException {
        ExecutorServiceManager executors = camelContext.getExecutorServiceManager();
        String poolName = "pgnotify-pool-" + POOL_COUNTER.incrementAndGet();
        ScheduledExecutorService housekeeper = executors.newSingleThreadScheduledExecutor(this, poolName + "-housekeeper");

        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        config.setDriverClassName(org.postgresql.Driver.class.getName());
        config.setJdbcUrl(key.jdbcUrl());
        config.setUsername(key.username());
        config.setPassword(key.password());
        config.setMaximumPoolSize(maxPoolSize);
        config.setMinimumIdle(Math.min(2, maxPoolSize));
        // borrowing waits at most connectTimeout; a borrowed connection idle for a while is validated first, within
        // a bound shorter than that, so that a pool full of half-open connections is emptied quickly
        config.setConnectionTimeout(Math.max(250, key.connectTimeoutMillis()));
        config.setValidationTimeout(Math.max(250, Math.min(3000, key.connectTimeoutMillis() / 3)));
        // idle connections are checked in the background too, so that dead ones are replaced before anyone borrows them
        config.setKeepaliveTime(30_000);
        EndpointConnections.driverProperties(key.connectTimeoutMillis(), key.statementTimeoutMillis())
                .forEach((name, value) -> config.addDataSourceProperty((String) name, value));
        config.addDataSourceProperty("ApplicationName", EndpointConnections.APPLICATION_NAME);
        if (key.sessionFree()) {
            // behind a pooler in transaction mode, a statement prepared on one server connection is unknown on the
            // next, and a session setting would leak into other clients' transactions: the watchdog and the socket
            // timeout bound the calls instead
            config.addDataSourceProperty("prepareThreshold", "0");
        } else {
            config.setConnectionInitSql(EndpointConnections.sessionSettingsSql(key.statementTimeoutMillis()));
        }
        config.setScheduledExecutor(housekeeper);
        config.setThreadFactory(new CamelThreadFactory(executors.getThreadNamePattern(), poolName, true));
        try {
            HikariDataSource dataSource = new HikariDataSource(config);
            LOG.debug("Opened connection pool {} for {}", poolName, key);
            return new SharedPool(dataSource, housekeeper);
        } catch (HikariPool.PoolInitializationException e) {
            executors.shutdown(housekeeper);
            throw EndpointConnections.connectionFailed(key.jdbcUrl(), key.username(), e.getCause() != null ? e.getCause() : e);
        }
    }

    private final class SharedPool {
        final HikariDataSource dataSource;
        final ScheduledExecutorService housekeeper;
        int users;

        SharedPool(HikariDataSource dataSource, ScheduledExecutorService housekeeper) {
            this.dataSource = dataSource;
            this.housekeeper = housekeeper;
        }

        void close() {
            dataSource.close();
            camelContext.getExecutorServiceManager().shutdown(housekeeper);
        }
    }

    private record Key(
            String jdbcUrl, String username, String password, long connectTimeoutMillis, long statementTimeoutMillis,
            boolean sessionFree) {
        @Override
        public String toString() {
            return EndpointConnections.describe(jdbcUrl, username);
        }
    }
}
