package dev.pgnotify.camel.listen;

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

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariCredentialsProvider;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.util.Credentials;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConnectionException;
import dev.pgnotify.camel.connection.EndpointConnections;
import dev.pgnotify.camel.connection.LowLatencySocketFactory;
import dev.pgnotify.camel.connection.ServerRole;
import org.postgresql.Driver;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGProperty;
import org.postgresql.ds.common.BaseDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LISTEN connection: where it goes (a URL, credentials and the connection properties of the endpoint's DataSource,
 * or that DataSource itself), opened outside any pool, and proven to receive notifications before it is used.
 */
public final class ListenerConnections {

    /** The application_name of the LISTEN connection a component shares among its consumers. */
    public static final String LISTENER_APPLICATION_NAME = "camel-pgnotify listener";

    private static final Logger LOG = LoggerFactory.getLogger(ListenerConnections.class);
    /** The longest wait for the notification that shows a new LISTEN connection receives them. */
    private static final long PROBE_WAIT_MILLIS = 5000;

    private ListenerConnections() {
    }

    /** The key under which consumers of an endpoint share a LISTEN connection with others of the component. */
    public static ListenerKey keyFor(PgNotifyConfiguration configuration) {
        Target target = targetOf(configuration);
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

    private static Target targetOf(PgNotifyConfiguration configuration) {
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
                statement.execute(EndpointConnections.sessionSettingsSql(0));
            }
            requireWritable(connection, key);
            requireNotificationsArrive(connection, key);
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    /**
     * A LISTEN on a hot standby fails, and one on a read-only server hears nothing (NOTIFY is not replicated, and no
     * producer can write there): refused with a message that says so, at start; after a failover, the reconnect tries
     * again (with targetServerType=primary it finds the new primary).
     */
    static void requireWritable(Connection connection, ListenerKey key) throws SQLException {
        String why = ServerRole.whyNotWritable(connection);
        if (why != null) {
            String server = key.jdbcUrl() != null
                    ? "PostgreSQL at " + EndpointConnections.describe(key.jdbcUrl(), key.username())
                    : "The PostgreSQL of the dataSource";
            throw new SQLException("LISTEN refused: " + ServerRole.refusal(server, why), ServerRole.READ_ONLY_SQL_STATE);
        }
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
            statement.execute(ListenSql.listen(probe));
        }
        try (Connection sender = key.dataSource() != null ? key.dataSource().getConnection() : openDirect(key, false);
             PreparedStatement notify = sender.prepareStatement(ListenSql.NOTIFY_ONE)) {
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
            statement.execute(ListenSql.unlisten(probe));
        }
        if (!arrived) {
            throw new SQLException("LISTEN on " + EndpointConnections.describe(key.jdbcUrl(), key.username()) + " receives no"
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
        properties.putAll(EndpointConnections.driverProperties(key.connectTimeoutMillis(), key.statementTimeoutMillis()));
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
            throw EndpointConnections.connectionFailed(key.jdbcUrl(), key.username(), e);
        }
    }

}
