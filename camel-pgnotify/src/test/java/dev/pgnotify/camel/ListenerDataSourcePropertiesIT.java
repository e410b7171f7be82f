package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.claim.ClaimingConsumer;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

/**
 * The LISTEN connection is opened outside the application's pool (a pool would count a connection held for hours as a
 * leak), from the pool's settings. It must connect as the pool's connections do: with every property the DataSource
 * gives the driver, not only its URL, user and password.
 */
class ListenerDataSourcePropertiesIT extends PgNotifyITSupport {

    private static final String ROLE_PASSWORD = "listener-props-secret";
    private static final String SCHEMA = "listener_props_it";
    private static final String TABLE = SCHEMA + ".props_queue";

    private final List<String> delivered = new CopyOnWriteArrayList<>();
    private HikariDataSource dataSource;

    @Override
    protected CamelContext createCamelContext() throws Exception {
        CamelContext context = super.createCamelContext();
        // a role that must log in with its password (scram-sha-256), owning a schema of its own
        server().createPasswordRole(ROLE_PASSWORD);
        server().execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE",
                "CREATE SCHEMA " + SCHEMA + " AUTHORIZATION " + PgTestServer.PASSWORD_ROLE);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server().jdbcUrl());
        config.setUsername(PgTestServer.PASSWORD_ROLE);
        // the password as a property of the DataSource (as some configurations and secret stores pass it), not as its
        // password
        config.addDataSourceProperty("password", ROLE_PASSWORD);
        config.setMaximumPoolSize(4);
        config.setPoolName("listener-props-it");
        dataSource = new HikariDataSource(config);
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(null);
        component.getConfiguration().setUsername(null);
        component.getConfiguration().setPassword(null);
        component.getConfiguration().setDataSource(dataSource);
        return context;
    }

    @AfterEach
    void closeDataSource() {
        if (dataSource != null) {
            dataSource.close();
        }
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                // polls once a minute: only a wake-up through LISTEN delivers within a second
                from("pgnotify:props?table=" + TABLE + "&pollInterval=60000").routeId("props").autoStartup(false)
                        .process(exchange -> delivered.add(exchange.getMessage().getBody(String.class)));
            }
        };
    }

    /**
     * A HikariDataSource whose password is one of its data source properties: its pooled connections log in. The
     * consumer must start, be listening, and be woken within a second by a message another application inserts (the
     * table trigger's NOTIFY). Today the LISTEN connection is rebuilt from the URL, user and password alone, logs in
     * without a password and is refused: the consumer's start fails.
     */
    @Test
    void theListenConnectionUsesTheDataSourcesProperties() throws Exception {
        assertDoesNotThrow(() -> context.getRouteController().startRoute("props"),
                "the consumer starts with the DataSource its pooled connections log in with");
        ClaimingConsumer consumer = (ClaimingConsumer) context.getRoute("props").getConsumer();
        await(Duration.ofSeconds(5)).alias("the consumer is listening").until(consumer::isListening);

        server().execute("INSERT INTO " + TABLE + " (channel, body_text) VALUES ('props', 'from another application')");
        await(Duration.ofSeconds(1)).alias("woken within a second by the trigger's NOTIFY")
                .until(() -> delivered.contains("from another application"));
    }
}
