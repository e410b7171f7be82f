package dev.pgnotify.examples.springboot;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.core.env.StandardEnvironment;

/**
 * Orders over REST: {@code POST /orders} saves an order and publishes its event in one transaction
 * ({@link OrderService}); a transacted route ships each order from its event ({@link ShippingRoutes}). The database is
 * the one {@code spring.datasource.url} names, else an embedded PostgreSQL started on the spot.
 */
@SpringBootApplication
public class OrdersApplication {

    private static final Logger LOG = LoggerFactory.getLogger(OrdersApplication.class);

    public static void main(String[] args) {
        SpringApplication application = new SpringApplication(OrdersApplication.class);
        if (!new StandardEnvironment().containsProperty("spring.datasource.url") && !named(args)) {
            // closed after the application (below), also on Ctrl+C: not by its own exit hook meanwhile
            PgTestServer server = PgTestServer.configuredOrNewEmbedded().closedByApplication(Duration.ofSeconds(30));
            LOG.info("No database configured (spring.datasource.url): using {}", server);
            Map<String, Object> database = new HashMap<>();
            database.put("spring.datasource.url", server.jdbcUrl());
            if (server.username() != null) {
                database.put("spring.datasource.username", server.username());
            }
            if (server.password() != null) {
                database.put("spring.datasource.password", server.password());
            }
            application.setDefaultProperties(database);
            // stopped once the application has closed (Camel stopped, the pools closed), also on Ctrl+C: Spring Boot
            // runs its shutdown handlers after its contexts are closed, whereas ContextClosedEvent comes before
            SpringApplication.getShutdownHandlers().add(server::close);
            try {
                application.run(args);
            } catch (RuntimeException | Error e) {
                server.close();
                throw e;
            }
            return;
        }
        application.run(args);
    }

    private static boolean named(String[] args) {
        for (String arg : args) {
            if (arg.startsWith("--spring.datasource.url=")) {
                return true;
            }
        }
        return false;
    }
}
