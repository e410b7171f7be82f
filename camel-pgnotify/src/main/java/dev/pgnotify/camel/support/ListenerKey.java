package dev.pgnotify.camel.support;

import java.util.Objects;

import javax.sql.DataSource;

/**
 * What makes two consumers share a LISTEN connection: the same database and user (or the same DataSource, when no URL
 * can be derived from it) and the same listener settings.
 *
 * @param dataSource set only when the LISTEN connection must come from this DataSource (neither HikariCP's nor
 *                   pgjdbc's); compared by identity
 */
public record ListenerKey(
        String jdbcUrl, String username, String password, DataSource dataSource, boolean lowLatency,
        long connectTimeoutMillis, long statementTimeoutMillis, long connectionCheckIntervalMillis,
        long reconnectDelayMillis, long maxReconnectDelayMillis) {

    @Override
    public boolean equals(Object other) {
        return other instanceof ListenerKey key && Objects.equals(jdbcUrl, key.jdbcUrl)
                && Objects.equals(username, key.username) && Objects.equals(password, key.password)
                && dataSource == key.dataSource && lowLatency == key.lowLatency
                && connectTimeoutMillis == key.connectTimeoutMillis && statementTimeoutMillis == key.statementTimeoutMillis
                && connectionCheckIntervalMillis == key.connectionCheckIntervalMillis
                && reconnectDelayMillis == key.reconnectDelayMillis
                && maxReconnectDelayMillis == key.maxReconnectDelayMillis;
    }

    @Override
    public int hashCode() {
        return Objects.hash(jdbcUrl, username, password, System.identityHashCode(dataSource), lowLatency,
                connectTimeoutMillis, statementTimeoutMillis, connectionCheckIntervalMillis);
    }

    /** For logs and health details: the server and user, never the password. */
    @Override
    public String toString() {
        return jdbcUrl != null ? EndpointConnections.describe(jdbcUrl, username) : "the configured dataSource";
    }
}
