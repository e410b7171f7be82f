package dev.pgnotify.camel.springboot;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.PgNotifyConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * What a Spring Boot application gets from camel-pgnotify alone, with camel-spring-boot-starter but without this
 * starter (its auto-configuration excluded): the "without the starter" list of docs/spring-boot.md is this test's findings.
 * Camel's autowiring still hands the component Spring Boot's only DataSource, so routes work; but
 * camel.component.pgnotify.* properties are not bound, and the producer does not join Spring's transactions (a
 * rolled-back transaction still publishes).
 */
@SpringBootTest(classes = WithoutStarterIT.App.class, properties = {
        "spring.autoconfigure.exclude=dev.pgnotify.camel.springboot.PgNotifyComponentAutoConfiguration,"
                                                                     + "dev.pgnotify.camel.springboot.PgNotifyComponentConverter",
        "camel.component.pgnotify.table=without_starter_ignored",
        "camel.component.pgnotify.lease-time=45s" })
class WithoutStarterIT {

    private static final String SEND = "pgnotify:without-starter?table=without_starter_queue";

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
        @Bean
        RouteBuilder routes() {
            return new RouteBuilder() {
                @Override
                public void configure() {
                    from(SEND).routeId("without-starter").to("mock:without");
                }
            };
        }
    }

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        TestDatabase.server().execute("DROP TABLE IF EXISTS without_starter_queue, without_starter_queue_dead CASCADE");
        TestDatabase.springDataSource(registry);
    }

    @Autowired
    CamelContext camelContext;
    @Autowired
    DataSource dataSource;
    @Autowired
    ProducerTemplate producer;
    @Autowired
    TransactionTemplate transactionTemplate;

    @Test
    void camelComponentPropertiesAreNotBound() {
        PgNotifyConfiguration configuration = component().getConfiguration();
        assertEquals("message_queue", configuration.getTable(), "camel.component.pgnotify.table ignored");
        assertEquals(30_000, configuration.getLeaseTime(), "camel.component.pgnotify.lease-time ignored");
    }

    @Test
    void theOnlyDataSourceIsAutowiredButTransactionsAreNotJoined() throws Exception {
        PgNotifyConfiguration configuration = component().getConfiguration();
        assertSame(dataSource, configuration.getDataSource(), "Camel's autowiring needs no starter");
        assertNull(configuration.getTransactions(), "no Spring integration without the starter");

        MockEndpoint received = camelContext.getEndpoint("mock:without", MockEndpoint.class);
        received.expectedBodiesReceived("published although its transaction rolled back");
        transactionTemplate.executeWithoutResult(status -> {
            producer.sendBody(SEND, "published although its transaction rolled back");
            status.setRollbackOnly();
        });
        received.setResultWaitTime(10_000);
        received.assertIsSatisfied();
    }

    private PgNotifyComponent component() {
        return camelContext.getComponent("pgnotify", PgNotifyComponent.class);
    }
}
