package dev.pgnotify.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Properties;

import javax.sql.DataSource;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.LifecycleStrategySupport;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database of the examples: the one you configure, else an embedded PostgreSQL started on the spot.
 */
public final class ExampleDatabase {

    public static final String JDBC_URL = "camel.component.pgnotify.jdbc-url";
    public static final String USERNAME = "camel.component.pgnotify.username";
    public static final String PASSWORD = "camel.component.pgnotify.password";

    private static final Logger LOG = LoggerFactory.getLogger(ExampleDatabase.class);

    private ExampleDatabase() {
    }

    /**
     * Leaves a configured database alone (system property, environment variable CAMEL_COMPONENT_PGNOTIFY_JDBC_URL or
     * application.properties); otherwise starts an embedded PostgreSQL and points the pgnotify component at it.
     */
    public static void configuredOrEmbedded(Main main) {
        if (isConfigured()) {
            return;
        }
        // closed after the application stopped (below), also on Ctrl+C: not by its own exit hook meanwhile
        PgTestServer server = PgTestServer.configuredOrNewEmbedded().closedByApplication(Duration.ofSeconds(30));
        // stopped with the application, not by a JVM shutdown hook: under mvn exec:java the classes it needs are
        // gone by the time the hooks run
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport main) {
                // also when the application is stopped with Main.stop() (as tests and embedding code do), which
                // does not call afterStop: the server would otherwise wait for the JVM's exit, past the time a test
                // runner gives the exit, and outlive it
                main.getCamelContext().addLifecycleStrategy(new LifecycleStrategySupport() {
                    @Override
                    public void onContextStopped(CamelContext context) {
                        server.close();
                    }
                });
            }

            @Override
            public void afterStop(BaseMainSupport main) {
                server.close();
            }
        });
        LOG.info("No database configured ({}): using {}", JDBC_URL, server);
        main.addInitialProperty(JDBC_URL, server.jdbcUrl());
        if (server.username() != null) {
            main.addInitialProperty(USERNAME, server.username());
        }
        if (server.password() != null) {
            main.addInitialProperty(PASSWORD, server.password());
        }
    }

    /**
     * An unpooled DataSource on the database pgnotify uses, for the examples' own SQL (their schema, the outbox
     * writer, the status line). An application would use a pool.
     */
    public static DataSource dataSource(CamelContext camelContext) {
        PropertiesComponent properties = camelContext.getPropertiesComponent();
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(properties.resolveProperty(JDBC_URL)
                .orElseThrow(() -> new IllegalStateException("Set " + JDBC_URL)));
        properties.resolveProperty(USERNAME).ifPresent(dataSource::setUser);
        properties.resolveProperty(PASSWORD).ifPresent(dataSource::setPassword);
        return dataSource;
    }

    private static boolean isConfigured() {
        if (System.getProperty(JDBC_URL) != null || System.getenv("CAMEL_COMPONENT_PGNOTIFY_JDBC_URL") != null) {
            return true;
        }
        try (InputStream in = ExampleDatabase.class.getResourceAsStream("/application.properties")) {
            Properties properties = new Properties();
            if (in != null) {
                properties.load(in);
            }
            return properties.getProperty(JDBC_URL) != null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
