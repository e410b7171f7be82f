package dev.pgnotify.camel.quarkus.it;

import java.util.HashMap;
import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * The real test server (embedded PostgreSQL, or the one PGNOTIFY_TEST_JDBC_URL names), started before Quarkus
 * configures Agroal: the default DataSource on its database, the named one "events" on a database of its own.
 */
public class PgTestResource implements QuarkusTestResourceLifecycleManager {

    static final String EVENTS_DATABASE = "pgnotify_quarkus_it_events";

    @Override
    public Map<String, String> start() {
        try {
            PgTestServer server = PgTestServer.get();
            server.execute("DROP TABLE IF EXISTS it_orders, it_shipments, it_queue, it_queue_dead CASCADE",
                    "CREATE TABLE it_orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item text NOT NULL)",
                    "CREATE TABLE it_shipments (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item text NOT NULL)",
                    "DROP DATABASE IF EXISTS " + EVENTS_DATABASE, "CREATE DATABASE " + EVENTS_DATABASE);
            String eventsUrl = server.jdbcUrl().replaceFirst("/[^/?]*(\\?|$)", "/" + EVENTS_DATABASE + "$1");
            Map<String, String> config = new HashMap<>();
            config.put("quarkus.datasource.jdbc.url", server.jdbcUrl());
            config.put("quarkus.datasource.events.jdbc.url", eventsUrl);
            for (String prefix : new String[] { "quarkus.datasource.", "quarkus.datasource.events." }) {
                if (server.username() != null) {
                    config.put(prefix + "username", server.username());
                }
                if (server.password() != null) {
                    config.put(prefix + "password", server.password());
                }
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
