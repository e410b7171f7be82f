package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Records when each keyed message's processing starts and ends, by the database's clock (one clock for every JVM),
 * with a random processing time in between: what per-key order is checked against.
 */
final class KeyedWorkLog implements Processor {

    static final String TABLE = "keyed_it_log";

    /** A pool, so that logging costs a round trip rather than a new connection per message. */
    private static HikariDataSource pool;

    private final String worker;

    KeyedWorkLog(PgTestServer server, String worker) {
        this.worker = worker;
        synchronized (KeyedWorkLog.class) {
            if (pool == null) {
                HikariConfig config = new HikariConfig();
                config.setJdbcUrl(server.jdbcUrl());
                config.setUsername(server.username());
                config.setPassword(server.password());
                config.setMaximumPoolSize(16);
                pool = new HikariDataSource(config);
            }
        }
    }

    static void create(PgTestServer server) throws Exception {
        server.execute("DROP TABLE IF EXISTS " + TABLE,
                "CREATE TABLE " + TABLE + " (id bigserial PRIMARY KEY, message_key text, seq int, worker text,"
                                                     + " started timestamptz, finished timestamptz)");
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        String[] keyAndSeq = exchange.getMessage().getBody(String.class).split(":");
        long row;
        try (Connection connection = pool.getConnection();
             PreparedStatement start = connection.prepareStatement("INSERT INTO " + TABLE
                                                                   + " (message_key, seq, worker, started)"
                                                                   + " VALUES (?, ?, ?, clock_timestamp()) RETURNING id")) {
            start.setString(1, keyAndSeq[0]);
            start.setInt(2, Integer.parseInt(keyAndSeq[1]));
            start.setString(3, worker + "/" + Thread.currentThread().getName());
            try (ResultSet rs = start.executeQuery()) {
                rs.next();
                row = rs.getLong(1);
            }
            // stands for a route's work, of varying length
            TimeUnit.MICROSECONDS.sleep(ThreadLocalRandom.current().nextInt(3000));
            try (PreparedStatement finish = connection.prepareStatement(
                    "UPDATE " + TABLE + " SET finished = clock_timestamp() WHERE id = ?")) {
                finish.setLong(1, row);
                finish.executeUpdate();
            }
        }
    }

    /**
     * What was logged, per key: {seq, started (µs), finished (µs)} in start order; {@code where} filters the rows (a
     * WHERE clause, or empty).
     */
    static Map<String, List<long[]>> byKey(PgTestServer server, String where) throws Exception {
        Map<String, List<long[]>> byKey = new HashMap<>();
        try (Connection connection = server.connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT message_key, seq, started, finished FROM " + TABLE + where
                                                   + " ORDER BY started")) {
            while (rs.next()) {
                byKey.computeIfAbsent(rs.getString(1).replaceFirst(":.*", ""), k -> new ArrayList<>())
                        .add(new long[] { rs.getInt(2), micros(rs.getTimestamp(3)), micros(rs.getTimestamp(4)) });
            }
        }
        return byKey;
    }

    private static long micros(Timestamp timestamp) {
        return timestamp.getTime() / 1000 * 1_000_000 + timestamp.getNanos() / 1000;
    }
}
