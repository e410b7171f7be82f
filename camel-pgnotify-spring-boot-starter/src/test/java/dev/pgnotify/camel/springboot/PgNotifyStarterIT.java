package dev.pgnotify.camel.springboot;

import java.time.Duration;
import java.util.Map;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.actuate.health.CompositeHealth;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthComponent;
import org.springframework.boot.actuate.health.HealthEndpoint;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Spring Boot application with the starter and no pgnotify connection settings: camel.component.pgnotify.*
 * properties bind onto the component, the application's DataSource is used, Spring's transactions integration is
 * installed, and the consumer's health shows in the actuator's.
 */
@SpringBootTest(classes = PgNotifyStarterIT.App.class, properties = {
        "camel.component.pgnotify.table=starter_it_queue",
        "camel.component.pgnotify.lease-time=45s",
        "camel.component.pgnotify.max-attempts=3",
        "camel.component.pgnotify.retry-delay=250ms",
        "camel.component.pgnotify.concurrent-consumers=2",
        "camel.component.pgnotify.mode=queue",
        "camel.health.exposure-level=full",
        "management.endpoint.health.show-details=always",
        "management.endpoint.health.show-components=always" })
class PgNotifyStarterIT {

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        RouteBuilder routes() {
            return new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:starter-events").routeId("starter-events").to("mock:events");
                    // a channel nobody consumes here: its messages wait
                    from("direct:backlog").routeId("backlog").to("pgnotify:starter-backlog");
                }
            };
        }
    }

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        TestDatabase.server().execute("DROP TABLE IF EXISTS starter_it_queue, starter_it_queue_dead CASCADE");
        TestDatabase.springDataSource(registry);
    }

    @Autowired
    CamelContext camelContext;
    @Autowired
    DataSource dataSource;
    @Autowired
    ProducerTemplate producer;
    @Autowired
    HealthEndpoint healthEndpoint;
    @Autowired
    MeterRegistry meterRegistry;

    @Test
    void propertiesBindOntoTheComponent() {
        PgNotifyConfiguration configuration = component().getConfiguration();
        assertEquals("starter_it_queue", configuration.getTable());
        assertEquals(45_000, configuration.getLeaseTime(), "a Spring Boot duration (45s) becomes milliseconds");
        assertEquals(3, configuration.getMaxAttempts());
        assertEquals(250, configuration.getRetryDelay());
        assertEquals(2, configuration.getConcurrentConsumers());
    }

    @Test
    void theApplicationsDataSourceCarriesTheMessagesWhenNoUrlIsSet() throws Exception {
        PgNotifyConfiguration configuration = component().getConfiguration();
        assertNull(configuration.getJdbcUrl());
        assertSame(dataSource, configuration.getDataSource(), "Spring Boot's DataSource, autowired");
        assertInstanceOf(SpringPgNotifyTransactions.class, configuration.getTransactions());

        MockEndpoint events = camelContext.getEndpoint("mock:events", MockEndpoint.class);
        events.expectedBodiesReceived("hello from Spring Boot");
        producer.sendBody("pgnotify:starter-events", "hello from Spring Boot");
        events.setResultWaitTime(10_000);
        events.assertIsSatisfied();
        await().atMost(Duration.ofSeconds(10)).until(() -> TestDatabase.count(
                "SELECT count(*) FROM starter_it_queue WHERE channel = 'starter-events'") == 0);
    }

    @Test
    void theActuatorsHealthShowsTheConsumer() {
        HealthComponent health = healthEndpoint.health();
        assertInstanceOf(CompositeHealth.class, health);
        Map<String, HealthComponent> components = ((CompositeHealth) health).getComponents();
        Health camel = (Health) components.get("camelHealth");
        assertTrue(camel != null, "Camel's health among " + components.keySet());
        assertEquals("UP", camel.getStatus().getCode(), camel.toString());
        assertTrue(camel.getDetails().keySet().stream().anyMatch(key -> key.contains("starter-events")),
                "the pgnotify consumer's check among " + camel.getDetails());
    }

    @Test
    void micrometerGaugesReadTheChannelsFigures() {
        producer.sendBody("direct:backlog", "one");
        producer.sendBody("direct:backlog", "two");
        producer.sendBodyAndHeader("direct:backlog", "tomorrow's", PgNotifyConstants.DELAY,
                Duration.ofDays(1));
        await().atMost(Duration.ofSeconds(10)).until(() -> meterRegistry.get("pgnotify.messages")
                .tag("channel", "starter-backlog").tag("state", "waiting").gauge().value() == 2.0);
        assertEquals(0.0, meterRegistry.get("pgnotify.messages").tag("channel", "starter-backlog")
                .tag("state", "dead").gauge().value());
        assertEquals(1.0, meterRegistry.get("pgnotify.messages").tag("channel", "starter-backlog")
                .tag("state", "delayed").gauge().value(), "the message sent with a delay");
        // the oldest waiting message ages: an age never computed (0) would pass a check of >= 0
        await().atMost(Duration.ofSeconds(10)).until(() -> meterRegistry.get("pgnotify.oldest.age")
                .tag("channel", "starter-backlog").gauge().value() > 0);
        assertEquals("starter_it_queue", meterRegistry.get("pgnotify.messages").tag("channel", "starter-events")
                .tag("state", "in_flight").gauge().getId().getTag("table"), "the consumer's channel too");
    }

    private PgNotifyComponent component() {
        return camelContext.getComponent("pgnotify", PgNotifyComponent.class);
    }
}
