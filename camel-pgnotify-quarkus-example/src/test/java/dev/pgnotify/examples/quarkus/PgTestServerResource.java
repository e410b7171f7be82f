package dev.pgnotify.examples.quarkus;

import java.util.HashMap;
import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * The real test server (embedded PostgreSQL, or the one PGNOTIFY_TEST_JDBC_URL names) as the application's database,
 * started before Quarkus configures Agroal; the example's tables dropped first, so that each run starts empty. The
 * application, finding quarkus.datasource.jdbc.url set, starts no server of its own.
 */
public class PgTestServerResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        try {
            PgTestServer server = PgTestServer.get();
            server.execute("DROP TABLE IF EXISTS orders, message_queue, message_queue_dead CASCADE");
            Map<String, String> config = new HashMap<>();
            config.put(EmbeddedDatabaseConfig.JDBC_URL, server.jdbcUrl());
            if (server.username() != null) {
                config.put("quarkus.datasource.username", server.username());
            }
            if (server.password() != null) {
                config.put("quarkus.datasource.password", server.password());
            }
            return config;
        } catch (Exception e) {
            throw new IllegalStateException("Could not prepare the test server", e);
        }
    }

    @Override
    public void stop() {
        // the server is shared with the JVM's other tests and stops with it
    }
}
