package dev.pgnotify.camel.listen;

import java.util.Objects;
import java.util.Properties;

import javax.sql.DataSource;

import dev.pgnotify.camel.connection.EndpointConnections;

/**
 * What makes two consumers share a LISTEN connection: the same database, user and connection properties (or the same
 * DataSource, when no URL can be derived from it) and the same listener settings.
 *
 * @param properties  the DataSource's own connection properties (HikariCP's dataSourceProperties: sslmode,
 *                    sslrootcert, options, ...), applied to the LISTEN connection as to the pool's; may be empty
 * @param credentials where a user and password come from at each connect (a HikariCP credentials provider, whose
 *                    passwords may rotate), or null for {@code username} and {@code password}; compared by identity
 * @param dataSource  set only when the LISTEN connection must come from this DataSource (neither HikariCP's nor
 *                    pgjdbc's); compared by identity
 */
public record ListenerKey(
        String jdbcUrl, String username, String password, Properties properties, Credentials credentials,
        DataSource dataSource, boolean lowLatency,
        long connectTimeoutMillis, long statementTimeoutMillis, long connectionCheckIntervalMillis,
        long reconnectDelayMillis, long maxReconnectDelayMillis) {

    /** A user and password, asked for at each connect. */
    @FunctionalInterface
    public interface Credentials {
        /** {user, password}; either may be null. */
        String[] get();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ListenerKey key && Objects.equals(jdbcUrl, key.jdbcUrl)
                && Objects.equals(username, key.username) && Objects.equals(password, key.password)
                && Objects.equals(properties, key.properties) && credentials == key.credentials
                && dataSource == key.dataSource && lowLatency == key.lowLatency
                && connectTimeoutMillis == key.connectTimeoutMillis && statementTimeoutMillis == key.statementTimeoutMillis
                && connectionCheckIntervalMillis == key.connectionCheckIntervalMillis
                && reconnectDelayMillis == key.reconnectDelayMillis
                && maxReconnectDelayMillis == key.maxReconnectDelayMillis;
    }

    @Override
    public int hashCode() {
        return Objects.hash(jdbcUrl, username, password, properties, System.identityHashCode(credentials),
                System.identityHashCode(dataSource), lowLatency,
                connectTimeoutMillis, statementTimeoutMillis, connectionCheckIntervalMillis);
    }

    /** For logs and health details: the server and user, never the password. */
    @Override
    public String toString() {
        return jdbcUrl != null ? EndpointConnections.describe(jdbcUrl, username) : "the configured dataSource";
    }
}
