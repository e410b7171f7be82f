package dev.pgnotify.camel.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariCredentialsProvider;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.util.Credentials;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConnectionException;
import org.apache.camel.util.URISupport;
import org.postgresql.Driver;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGProperty;
import org.postgresql.ds.common.BaseDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an endpoint gets its connections: pooled ones for short statements (the user's DataSource, or the
 * component's shared pool for jdbcUrl), always used through a bounded {@link Database}, and unpooled ones for the
 * shared LISTEN connection.
 */
public final class EndpointConnections {


    public static final String APPLICATION_NAME = "camel-pgnotify";
    /** The application_name of the LISTEN connection a component shares among its consumers. */
    public static final String LISTENER_APPLICATION_NAME = "camel-pgnotify listener";

    private static final Logger LOG = LoggerFactory.getLogger(EndpointConnections.class);
    private static final long EVICTION_WARNING_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The longest wait for the notification that shows a new LISTEN connection receives them. */
    private static final long PROBE_WAIT_MILLIS = 5000;

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
    public synchronized Database acquireDatabase() throws PgNotifyConnectionException {
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
            database = new Database(dataSource, watchdog, describeEndpoint(), configuration.getConnectTimeout(),
                    configuration.getStatementTimeout(), onExpired);
        }
        pooledUsers++;
        return database;
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

    /** The key under which consumers of this endpoint share a LISTEN connection with others of the component. */
    public ListenerKey listenerKey() {
        requireDatabase();
        Target target = listenerTarget();
        return new ListenerKey(target.jdbcUrl(), target.username(), target.password(), target.properties(),
                target.credentials(), target.jdbcUrl() == null ? configuration.effectiveDataSource() : null,
                configuration.isLowLatencyListener(),
                configuration.getConnectTimeout(), configuration.getStatementTimeout(),
                configuration.getConnectionCheckInterval(), configuration.getReconnectDelay(),
                configuration.getMaxReconnectDelay());
    }

    /**
     * Where a LISTEN connection goes: a URL, credentials and the connection properties the DataSource applies to its
     * own connections, or (for other DataSources) the DataSource itself.
     */
    private record Target(String jdbcUrl, String username, String password, Properties properties,
                          ListenerKey.Credentials credentials) {

        Target(String jdbcUrl, String username, String password) {
            this(jdbcUrl, username, password, new Properties(), null);
        }
    }

    private Target listenerTarget() {
        DataSource dataSource = configuration.effectiveDataSource();
        try {
            if (dataSource == null) {
                return new Target(configuration.getJdbcUrl(), configuration.getUsername(), configuration.getPassword());
            }
            if (dataSource.isWrapperFor(HikariDataSource.class)
                    && dataSource.unwrap(HikariDataSource.class).getJdbcUrl() != null) {
                HikariDataSource hikari = dataSource.unwrap(HikariDataSource.class);
                Properties properties = new Properties();
                properties.putAll(hikari.getDataSourceProperties());
                HikariCredentialsProvider provider = hikari.getCredentialsProvider();
                ListenerKey.Credentials credentials = provider == null ? null : credentialsOf(provider);
                return new Target(hikari.getJdbcUrl(), hikari.getUsername(), hikari.getPassword(), properties,
                        credentials);
            }
            if (dataSource.isWrapperFor(BaseDataSource.class)) {
                // pgjdbc's DataSource writes every property set on it into its URL
                BaseDataSource pg = dataSource.unwrap(BaseDataSource.class);
                return new Target(pg.getUrl(), pg.getUser(), pg.getPassword());
            }
        } catch (SQLException e) {
            LOG.debug("Cannot unwrap the dataSource", e);
        }
        return new Target(null, null, null);
    }

    /** One {@link ListenerKey.Credentials} per provider, so that consumers of one pool share one LISTEN connection. */
    private static final Map<HikariCredentialsProvider, ListenerKey.Credentials> PROVIDED = Collections.synchronizedMap(
            new WeakHashMap<>());

    private static ListenerKey.Credentials credentialsOf(HikariCredentialsProvider provider) {
        return PROVIDED.computeIfAbsent(provider, p -> () -> {
            Credentials credentials = p.getCredentials();
            return credentials == null ? new String[2]
                    : new String[] { credentials.getUsername(), credentials.getPassword() };
        });
    }

    /**
     * Opens a connection of its own for LISTEN, outside any pool: a pool would count a connection held for hours as a
     * leak, lose a slot to it and might evict it. In autocommit, as notifications are only delivered between
     * transactions.
     */
    public static Connection openListenerConnection(ListenerKey key) throws SQLException {
        Connection connection;
        if (key.dataSource() != null) {
            LOG.warn("The dataSource is neither HikariCP's nor pgjdbc's, so the LISTEN connection is taken from it and"
                     + " held for as long as consumers run. Set jdbcUrl to keep it out of the pool.");
            connection = key.dataSource().getConnection();
        } else {
            // over TLS too: the socket answers its peek at once only between TLS records (see LowLatencySocketFactory)
            connection = openDirect(key, key.lowLatency());
        }
        try {
            connection.setAutoCommit(true);
            try (Statement statement = connection.createStatement()) {
                // the LISTEN connection sits idle between notifications: a role's idle_session_timeout must not end it
                statement.execute(sessionSettingsSql(0));
            }
            requireNotificationsArrive(connection, key);
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    /**
     * Makes sure the LISTEN connection receives notifications: sends one to it from a second connection and waits for
     * it. Behind a pooler in transaction mode (PgBouncer pool_mode=transaction) a LISTEN ends with its transaction and
     * nothing would ever arrive, without a word; this says so at start, and names the option that works there.
     */
    private static void requireNotificationsArrive(Connection listener, ListenerKey key) throws SQLException {
        String probe = "pgnotify_probe_" + UUID.randomUUID().toString().replace("-", "");
        long waitMillis = Math.min(PROBE_WAIT_MILLIS, Math.max(250, key.connectTimeoutMillis()));
        try (Statement statement = listener.createStatement()) {
            statement.execute(SupportSql.listen(probe));
        }
        try (Connection sender = key.dataSource() != null ? key.dataSource().getConnection() : openDirect(key, false);
             PreparedStatement notify = sender.prepareStatement(SupportSql.NOTIFY_ONE)) {
            sender.setAutoCommit(true);
            notify.setString(1, probe);
            notify.setString(2, "");
            notify.execute();
        }
        PGConnection pg = listener.unwrap(PGConnection.class);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        boolean arrived = false;
        long left;
        while (!arrived && (left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) > 0) {
            PGNotification[] notifications = pg.getNotifications((int) left);
            if (notifications != null) {
                arrived = Arrays.stream(notifications).anyMatch(n -> probe.equals(n.getName()));
            }
        }
        try (Statement statement = listener.createStatement()) {
            statement.execute(SupportSql.unlisten(probe));
        }
        if (!arrived) {
            throw new SQLException("LISTEN on " + describe(key.jdbcUrl(), key.username()) + " receives no"
                                   + " notifications: one sent to it from a second connection did not arrive within "
                                   + waitMillis + " ms. The connection probably goes through a pooler in"
                                   + " transaction mode (such as PgBouncer with pool_mode=transaction), where a LISTEN"
                                   + " ends with its transaction. Set listen=false to poll instead, or let pgnotify"
                                   + " connect to PostgreSQL directly or through a pool in session mode.",
                    "55000");
        }
    }

    private static Connection openDirect(ListenerKey key, boolean lowLatency) throws PgNotifyConnectionException {
        Properties properties = new Properties();
        if (key.properties() != null) {
            // the DataSource's own (sslmode, sslrootcert, options, ...); pgnotify's bounds below take precedence
            key.properties().forEach((name, value) -> properties.setProperty(String.valueOf(name), String.valueOf(value)));
        }
        properties.putAll(driverProperties(key.connectTimeoutMillis(), key.statementTimeoutMillis()));
        String[] credentials = key.credentials() != null ? key.credentials().get()
                : new String[] { key.username(), key.password() };
        if (credentials[0] != null) {
            properties.setProperty(PGProperty.USER.getName(), credentials[0]);
        }
        if (credentials[1] != null) {
            properties.setProperty(PGProperty.PASSWORD.getName(), credentials[1]);
        }
        properties.setProperty(PGProperty.APPLICATION_NAME.getName(), LISTENER_APPLICATION_NAME);
        if (lowLatency) {
            properties.setProperty(PGProperty.SOCKET_FACTORY.getName(), LowLatencySocketFactory.class.getName());
        }
        try {
            Connection connection = new Driver().connect(key.jdbcUrl(), properties);
            if (connection == null) {
                throw new SQLException("the URL is not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)");
            }
            return connection;
        } catch (SQLException e) {
            throw connectionFailed(key.jdbcUrl(), key.username(), e);
        }
    }

    /**
     * pgjdbc's properties for every connection pgnotify opens itself: a bounded TCP connect, a bounded wait for each
     * answer (login included: pgjdbc applies it before the startup exchange), and TCP keepalive so that the kernel
     * eventually notices a peer that vanished.
     */
    static Properties driverProperties(long connectTimeoutMillis, long statementTimeoutMillis) {
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
     * notifications; pgnotify bounds its own calls. Settings a server does not know (idle_session_timeout before
     * PostgreSQL 14, transaction_timeout before 17) are skipped.
     */
    static String sessionSettingsSql(long statementTimeoutMillis) {
        String statementTimeout = statementTimeoutMillis > 0
                ? "('statement_timeout', '" + statementTimeoutMillis + "'), " : "";
        return "SELECT set_config(s.name, s.value, false) FROM (VALUES " + statementTimeout
               + "('idle_session_timeout', '0'), ('idle_in_transaction_session_timeout', '0'),"
               + " ('transaction_timeout', '0')) AS s(name, value)"
               + " WHERE s.name IN (SELECT name FROM pg_settings)";
    }

    private static long seconds(long millis) {
        return Math.max(1, (millis + 999) / 1000);
    }

    private void requireDatabase() {
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
