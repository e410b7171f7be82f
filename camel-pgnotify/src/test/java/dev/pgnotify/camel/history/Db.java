package dev.pgnotify.camel.history;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * How the harness itself talks to the database (the plain SQL publishers, the faults, the final state): a connection
 * of its own, outside pgnotify's pools, whose every wait is bounded, so that a stopped or frozen server costs seconds.
 *
 * @param url      the server's JDBC URL (straight to the server, never through the freezing proxy)
 */
public record Db(String url, String username, String password) {

    /** A new connection in autocommit; the caller closes it. */
    public Connection connect() throws SQLException {
        Properties properties = new Properties();
        if (username != null) {
            properties.setProperty("user", username);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("socketTimeout", "20");
        properties.setProperty("ApplicationName", "history-harness");
        Connection connection = DriverManager.getConnection(url, properties);
        try (var statement = connection.createStatement()) {
            statement.execute("SET statement_timeout = 10000");
            statement.execute("SET lock_timeout = 3000");
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }
}
