package dev.pgnotify.examples.quarkus;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.quarkus.runtime.ExecutionMode;
import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.PropertiesConfigSource;
import org.eclipse.microprofile.config.spi.ConfigSource;
import org.jboss.logging.Logger;

import dev.pgnotify.camel.test.PgTestServer;

/**
 * The database when none is configured: with no {@code quarkus.datasource.jdbc.url} (in application.properties, a
 * system property, {@code QUARKUS_DATASOURCE_JDBC_URL}, or a test resource), the application starts the server
 * {@code PGNOTIFY_TEST_JDBC_URL} names, else an embedded PostgreSQL, and configures the default DataSource on it: a
 * config source, so that Agroal reads it when it starts. (Not {@code CAMEL_COMPONENT_PGNOTIFY_JDBC_URL}, as the demo:
 * that would give pgnotify a pool of its own, outside the application's transactions; a warning says so.) Only when the application runs (java -jar, quarkus:dev), never
 * while Quarkus builds it. Stopped by {@link EmbeddedDatabaseShutdown} once the application has stopped.
 * Registered in {@code META-INF/services/io.smallrye.config.ConfigSourceFactory}.
 */
public class EmbeddedDatabaseConfig implements ConfigSourceFactory {

    static final String JDBC_URL = "quarkus.datasource.jdbc.url";

    private static final Logger LOG = Logger.getLogger(EmbeddedDatabaseConfig.class);

    /** The server this application started, if any. */
    private static PgTestServer started;

    @Override
    public synchronized Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        ConfigValue ownPool = context.getValue("camel.component.pgnotify.jdbc-url");
        if (ownPool != null && ownPool.getValue() != null) {
            LOG.warnf("camel.component.pgnotify.jdbc-url (CAMEL_COMPONENT_PGNOTIFY_JDBC_URL) gives pgnotify a pool of"
                      + " its own, whose messages join no transaction of this application: set %s instead", JDBC_URL);
        }
        ConfigValue configured = context.getValue(JDBC_URL);
        if (configured != null && configured.getValue() != null || ExecutionMode.current() == ExecutionMode.UNSET) {
            return List.of();
        }
        if (started == null) {
            // closed by EmbeddedDatabaseShutdown after the application (Camel, Agroal) has stopped, also on Ctrl+C
            started = PgTestServer.configuredOrNewEmbedded().closedByApplication(Duration.ofSeconds(30));
            LOG.infof("No database configured (%s): using %s", JDBC_URL, started);
        }
        Map<String, String> database = new HashMap<>();
        database.put(JDBC_URL, started.jdbcUrl());
        if (started.username() != null) {
            database.put("quarkus.datasource.username", started.username());
        }
        if (started.password() != null) {
            database.put("quarkus.datasource.password", started.password());
        }
        // below application.properties (250): what the user configures wins
        return List.of(new PropertiesConfigSource(database, "pgnotify example: " + started, 200));
    }

    /** Stops the server this application started, if any. */
    static synchronized void stop() {
        if (started != null) {
            started.close();
            started = null;
        }
    }
}
