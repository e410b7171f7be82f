package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * A table in which consumers, in this JVM or another, record each message they processed: which message, by whom
 * (and for which topic group), on which delivery. Tests read it to count what was lost and what was delivered twice.
 */
final class ProcessedLog implements Processor, AutoCloseable {

    private final String table;
    private final String consumer;
    private final HikariDataSource dataSource;

    ProcessedLog(PgTestServer server, String table, String consumer) {
        this.table = table;
        this.consumer = consumer;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server.jdbcUrl());
        config.setUsername(server.username());
        config.setPassword(server.password());
        config.setMaximumPoolSize(4);
        config.setPoolName("processed-log");
        this.dataSource = new HikariDataSource(config);
    }

    static void create(PgTestServer server, String table) throws SQLException {
        server.execute("DROP TABLE IF EXISTS " + table,
                "CREATE TABLE " + table + " (seq bigserial, message_id bigint NOT NULL, body text, consumer text NOT NULL, grp text,"
                                                        + " attempt int NOT NULL, processed_at timestamptz NOT NULL DEFAULT clock_timestamp())");
    }

    DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement insert = connection.prepareStatement(
                     "INSERT INTO " + table + " (message_id, body, consumer, attempt, grp) VALUES (?, ?, ?, ?, ?)")) {
            insert.setLong(1, exchange.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class));
            insert.setString(2, exchange.getMessage().getBody(String.class));
            insert.setString(3, consumer);
            insert.setInt(4, exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class));
            insert.setString(5, exchange.getMessage().getHeader(PgNotifyConstants.GROUP, String.class));
            insert.executeUpdate();
        }
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
