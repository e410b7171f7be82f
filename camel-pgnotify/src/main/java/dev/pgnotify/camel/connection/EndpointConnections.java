package dev.pgnotify.camel.connection;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConnectionException;
import org.apache.camel.util.URISupport;
import org.postgresql.PGProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an endpoint gets its pooled connections for short statements (the user's DataSource, or the component's
 * shared pool for jdbcUrl), always used through a bounded {@link Database}; and the driver settings of every
 * connection pgnotify opens itself (the LISTEN connection's too, see {@code listen.ListenerConnections}).
 */
public final class EndpointConnections {


    public static final String APPLICATION_NAME = "camel-pgnotify";

    private static final Logger LOG = LoggerFactory.getLogger(EndpointConnections.class);
    /** How much later than pgnotify's own bound a session's statement_timeout ends a statement on the server. */
    public static final long SERVER_TIMEOUT_SLACK_MILLIS = 1000;
    private static final long EVICTION_WARNING_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final SharedPools sharedPools;
    private final CallWatchdog watchdog;
    private final PgNotifyConfiguration configuration;
    private final String endpointDescription;
    private final Supplier<String> noDatabaseHint;

    private Database database;
    private DataSource acquiredPool;
    private int pooledUsers;

    public EndpointConnections(SharedPools sharedPools, CallWatchdog watchdog, PgNotifyConfiguration configuration,
                               String endpointDescription, Supplier<String> noDatabaseHint) {
        this.noDatabaseHint = noDatabaseHint;
        this.sharedPools = sharedPools;
        this.watchdog = watchdog;
        this.configuration = configuration;
        this.endpointDescription = endpointDescription;
    }

    /**
     * The endpoint's bounded access to pooled connections. Every call must be matched by {@link #releaseDatabase()}.
     */
    public synchronized Database acquireDatabase() throws SQLException {
        requireDatabase();
        if (pooledUsers == 0) {
            DataSource dataSource = configuration.effectiveDataSource();
            Consumer<Connection> onExpired;
            if (dataSource == null) {
                acquiredPool = sharedPools.acquire(configuration.getJdbcUrl(), configuration.getUsername(),
                        configuration.getPassword(), configuration.getMaxPoolSize(), configuration.getConnectTimeout(),
                        configuration.getStatementTimeout(), !configuration.isListen());
                dataSource = acquiredPool;
                onExpired = evictAfterTimeout((HikariDataSource) acquiredPool, true);
            } else {
                onExpired = dataSource instanceof HikariDataSource hikari
                        ? evictAfterTimeout(hikari, false) : connection -> {
                        };
            }
            watchdog.acquire();
            Database opened = new Database(dataSource, watchdog, describeEndpoint(), configuration.getConnectTimeout(),
                    configuration.getStatementTimeout(), onExpired, configuration.getTransactions());
            try {
                requireWritable(opened);
            } catch (SQLException | RuntimeException e) {
                watchdog.release();
                if (acquiredPool != null) {
                    sharedPools.release(acquiredPool);
                    acquiredPool = null;
                }
                throw e;
            }
            database = opened;
        }
        pooledUsers++;
        return database;
    }

    /**
     * Refuses a hot standby or a read-only server at start, saying so, rather than failing on every write and retrying
     * forever.
     */
    private void requireWritable(Database opened) throws SQLException {
        String why = opened.call(this, "checking that the server takes writes", ServerRole::whyNotWritable);
        if (why != null) {
            String server = configuration.getJdbcUrl() != null && configuration.effectiveDataSource() == null
                    ? "PostgreSQL at " + describe(configuration.getJdbcUrl(), configuration.getUsername())
                    : "The PostgreSQL of the dataSource of " + endpointDescription;
            throw new PgNotifyConnectionException(ServerRole.refusal(server, why), null);
        }
    }

    public synchronized void releaseDatabase() {
        if (pooledUsers > 0 && --pooledUsers == 0) {
            database = null;
            watchdog.release();
            if (acquiredPool != null) {
                sharedPools.release(acquiredPool);
                acquiredPool = null;
            }
        }
    }

    /**
     * After a call timed out, its connection is replaced; with the component's own pool every idle connection too,
     * since a connection that stopped answering rarely does so alone (a NAT table, a firewall or a failover loses them
     * all), and each would otherwise cost a borrower a validation timeout.
     */
    private Consumer<Connection> evictAfterTimeout(HikariDataSource pool, boolean evictAll) {
        AtomicLong lastWarning = new AtomicLong(System.nanoTime() - EVICTION_WARNING_INTERVAL_NANOS);
        return connection -> {
            try {
                if (evictAll) {
                    long now = System.nanoTime();
                    long last = lastWarning.get();
                    if (now - last >= EVICTION_WARNING_INTERVAL_NANOS && lastWarning.compareAndSet(last, now)) {
                        LOG.warn("{}: a call timed out or found no working connection in time; replacing the"
                                 + " connections of pool {}",
                                endpointDescription, pool.getPoolName());
                    }
                    pool.getHikariPoolMXBean().softEvictConnections();
                } else if (connection != null) {
                    pool.evictConnection(connection);
                }
            } catch (RuntimeException e) {
                LOG.debug("Evicting connections after a timeout failed", e);
            }
        };
    }

    /**
     * pgjdbc's properties for every connection pgnotify opens itself: a bounded TCP connect, a bounded wait for each
     * answer (login included: pgjdbc applies it before the startup exchange), and TCP keepalive so that the kernel
     * eventually notices a peer that vanished.
     */
    public static Properties driverProperties(long connectTimeoutMillis, long statementTimeoutMillis) {
        Properties properties = new Properties();
        properties.setProperty(PGProperty.CONNECT_TIMEOUT.getName(), Long.toString(seconds(connectTimeoutMillis)));
        // a second behind the watchdog, which bounds whole calls (writes included) and says why
        properties.setProperty(PGProperty.SOCKET_TIMEOUT.getName(),
                Long.toString(seconds(statementTimeoutMillis) + 1));
        properties.setProperty(PGProperty.TCP_KEEP_ALIVE.getName(), "true");
        return properties;
    }

    /**
     * The session settings of pgnotify's own connections: the statement bound on the server too (0 leaves the role's
     * own), and none of the timeouts a role may set (idle_session_timeout, idle_in_transaction_session_timeout,
     * transaction_timeout), which would end pooled connections at random and the LISTEN connection between
     * notifications; pgnotify bounds its own calls. JIT compilation off: pgnotify's statements are index look-ups
     * whose row estimates can pass jit_above_cost, and compiling them costs far more than running them (the topic's
     * functions and lag query turn it off themselves, for the application's DataSources and poolers). Settings a
     * server does not know (idle_session_timeout before PostgreSQL 14, transaction_timeout before 17) are skipped.
     */
    public static String sessionSettingsSql(long statementTimeoutMillis) {
        // a second behind pgnotify's own bound, which closes the connection first: PostgreSQL reports a commit whose
        // wait for a synchronous standby was cancelled (statement_timeout cancels it) as a success, though it may never
        // reach the standby, so a send would be acknowledged and then lost in a failover
        String statementTimeout = statementTimeoutMillis > 0
                ? "('statement_timeout', '" + (statementTimeoutMillis + SERVER_TIMEOUT_SLACK_MILLIS) + "'), " : "";
        return "SELECT set_config(s.name, s.value, false) FROM (VALUES " + statementTimeout
               + "('idle_session_timeout', '0'), ('idle_in_transaction_session_timeout', '0'),"
               + " ('transaction_timeout', '0'), ('jit', 'off')) AS s(name, value)"
               + " WHERE s.name IN (SELECT name FROM pg_settings)";
    }

    private static long seconds(long millis) {
        return Math.max(1, (millis + 999) / 1000);
    }

    void requireDatabase() {
        if (configuration.effectiveDataSource() == null && configuration.getJdbcUrl() == null) {
            throw new IllegalStateException(
                    endpointDescription + " has no database: set jdbcUrl (camel.component.pgnotify.jdbc-url) or"
                                            + " dataSource on the component or on the endpoint"
                                            + noDatabaseHint.get());
        }
    }

    private String describeEndpoint() {
        return configuration.getJdbcUrl() != null && configuration.effectiveDataSource() == null
                ? endpointDescription + " at " + describe(configuration.getJdbcUrl(), configuration.getUsername())
                : endpointDescription;
    }

    /** The server and user, for messages: never the password, even one written into the URL. */
    public static String describe(String jdbcUrl, String username) {
        String url = URISupport.sanitizeUri(jdbcUrl);
        return username != null ? url + " as user '" + username + "'" : url;
    }

    public static PgNotifyConnectionException connectionFailed(String jdbcUrl, String username, Throwable cause) {
        return new PgNotifyConnectionException(
                "Cannot connect to PostgreSQL at " + describe(jdbcUrl, username) + ": " + cause.getMessage(), cause);
    }
}
