package dev.pgnotify.camel.support;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConnectionException;
import org.apache.camel.util.URISupport;
import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.ds.common.BaseDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an endpoint gets its connections: pooled ones for short statements (the user's DataSource, or the
 * component's shared pool for jdbcUrl) and dedicated, unpooled ones for LISTEN.
 */
public final class EndpointConnections {

    public static final String APPLICATION_NAME = "camel-pgnotify";
    /** Followed by the channel, so that pg_stat_activity shows what each LISTEN connection is for. */
    public static final String LISTENER_APPLICATION_NAME_PREFIX = "camel-pgnotify listen ";

    private static final Logger LOG = LoggerFactory.getLogger(EndpointConnections.class);

    private final SharedPools sharedPools;
    private final PgNotifyConfiguration configuration;
    private final String endpointDescription;

    private DataSource acquiredPool;
    private int pooledUsers;

    public EndpointConnections(SharedPools sharedPools, PgNotifyConfiguration configuration, String endpointDescription) {
        this.sharedPools = sharedPools;
        this.configuration = configuration;
        this.endpointDescription = endpointDescription;
    }

    /**
     * The pooled DataSource for short statements. Every call must be matched by {@link #releasePooled()}.
     */
    public synchronized DataSource acquirePooled() throws PgNotifyConnectionException {
        requireDatabase();
        if (configuration.getDataSource() != null) {
            return configuration.getDataSource();
        }
        if (acquiredPool == null) {
            acquiredPool = sharedPools.acquire(configuration.getJdbcUrl(), configuration.getUsername(),
                    configuration.getPassword(), configuration.getMaxPoolSize());
        }
        pooledUsers++;
        return acquiredPool;
    }

    public synchronized void releasePooled() {
        if (acquiredPool != null && --pooledUsers == 0) {
            sharedPools.release(acquiredPool);
            acquiredPool = null;
        }
    }

    /**
     * Opens a connection of its own for LISTEN, outside any pool: a pool would count a connection held for hours as a
     * leak, lose a slot to it and might evict it. In autocommit, as notifications are only delivered between
     * transactions.
     */
    public Connection openListenerConnection(String channel) throws SQLException {
        requireDatabase();
        Connection connection;
        DataSource dataSource = configuration.getDataSource();
        if (dataSource == null) {
            connection = openDirect(configuration.getJdbcUrl(), configuration.getUsername(), configuration.getPassword(),
                    channel);
        } else if (dataSource.isWrapperFor(HikariDataSource.class)
                && dataSource.unwrap(HikariDataSource.class).getJdbcUrl() != null) {
            HikariDataSource hikari = dataSource.unwrap(HikariDataSource.class);
            connection = openDirect(hikari.getJdbcUrl(), hikari.getUsername(), hikari.getPassword(), channel);
        } else if (dataSource.isWrapperFor(BaseDataSource.class)) {
            BaseDataSource pg = dataSource.unwrap(BaseDataSource.class);
            connection = openDirect(pg.getUrl(), pg.getUser(), pg.getPassword(), channel);
        } else {
            LOG.warn("{}: the dataSource is neither HikariCP's nor pgjdbc's, so the LISTEN connection is taken from it"
                     + " and held for as long as the consumer runs. Set jdbcUrl to keep it out of the pool.",
                    endpointDescription);
            connection = dataSource.getConnection();
        }
        connection.setAutoCommit(true);
        return connection;
    }

    private Connection openDirect(String jdbcUrl, String username, String password, String channel)
            throws SQLException {
        String applicationName = LISTENER_APPLICATION_NAME_PREFIX + channel;
        boolean lowLatency = configuration.isLowLatencyListener();
        Connection connection = connectDirect(jdbcUrl, username, password, applicationName, lowLatency);
        if (lowLatency && usesSsl(connection)) {
            // the immediate peek is only sound on a plain socket, where no partly read record can be cut short
            connection.close();
            connection = connectDirect(jdbcUrl, username, password, applicationName, false);
        }
        return connection;
    }

    private static Connection connectDirect(
            String jdbcUrl, String username, String password, String applicationName, boolean lowLatency)
            throws PgNotifyConnectionException {
        Properties properties = new Properties();
        if (username != null) {
            properties.setProperty(PGProperty.USER.getName(), username);
        }
        if (password != null) {
            properties.setProperty(PGProperty.PASSWORD.getName(), password);
        }
        properties.setProperty(PGProperty.APPLICATION_NAME.getName(), applicationName);
        properties.setProperty(PGProperty.TCP_KEEP_ALIVE.getName(), "true");
        if (lowLatency) {
            properties.setProperty(PGProperty.SOCKET_FACTORY.getName(), LowLatencySocketFactory.class.getName());
        }
        try {
            Connection connection = new Driver().connect(jdbcUrl, properties);
            if (connection == null) {
                throw new SQLException("the URL is not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)");
            }
            return connection;
        } catch (SQLException e) {
            throw connectionFailed(jdbcUrl, username, e);
        }
    }

    private static boolean usesSsl(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(SupportSql.CONNECTION_USES_SSL)) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    private void requireDatabase() {
        if (configuration.getDataSource() == null && configuration.getJdbcUrl() == null) {
            throw new IllegalStateException(
                    endpointDescription + " has no database: set jdbcUrl (camel.component.pgnotify.jdbc-url) or"
                                            + " dataSource on the component or on the endpoint");
        }
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
