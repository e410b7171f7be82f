package dev.pgnotify.camel.springboot;

import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which database the component uses in Spring Boot: with several DataSources none is guessed and the start fails
 * naming them and the property to set; {@code data-source=#bean:name} chooses one; {@code jdbc-url} (with a user and
 * password) gives pgnotify a pool of its own even when the application has a DataSource.
 */
class DataSourceChoiceIT {

    private final List<ConfigurableApplicationContext> started = new ArrayList<>();

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class TwoDataSources {
        @Bean
        DataSource ordersDataSource() {
            return dataSource();
        }

        @Bean
        DataSource reportingDataSource() {
            return dataSource();
        }

        @Bean
        RouteBuilder routes() {
            return echoRoute();
        }
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class OneDataSource {
        @Bean
        DataSource applicationDataSource() {
            return dataSource();
        }

        @Bean
        RouteBuilder routes() {
            return echoRoute();
        }
    }

    @AfterEach
    void closeApplications() {
        started.forEach(ConfigurableApplicationContext::close);
    }

    @Test
    void withSeveralDataSourcesTheStartNamesThemAndTheProperty() {
        Exception failure = assertThrows(Exception.class, () -> start(TwoDataSources.class));
        String message = rootMessage(failure);
        assertTrue(message.contains("ordersDataSource") && message.contains("reportingDataSource"), message);
        assertTrue(message.contains("camel.component.pgnotify.data-source=#bean:"), message);
    }

    @Test
    void aBeanReferenceChoosesTheDataSource() throws Exception {
        ConfigurableApplicationContext application = start(TwoDataSources.class,
                "camel.component.pgnotify.data-source=#bean:reportingDataSource");
        PgNotifyConfiguration configuration = configuration(application);
        assertSame(application.getBean("reportingDataSource"), configuration.getDataSource());
        roundTrip(application, "through the chosen DataSource");
    }

    @Test
    void aJdbcUrlWithItsCredentialsGivesPgNotifyItsOwnPool() throws Exception {
        PgTestServer server = TestDatabase.server();
        // a role that must give its password: the password property really reaches the connection
        server.createPasswordRole("s3cret-starter");
        server.execute("GRANT CREATE ON SCHEMA public TO " + PgTestServer.PASSWORD_ROLE);
        ConfigurableApplicationContext application = start(OneDataSource.class,
                "camel.component.pgnotify.jdbc-url=" + server.jdbcUrl(),
                "camel.component.pgnotify.username=" + PgTestServer.PASSWORD_ROLE,
                "camel.component.pgnotify.password=s3cret-starter",
                "camel.component.pgnotify.table=choice_it_own_pool");
        PgNotifyConfiguration configuration = configuration(application);
        assertEquals(server.jdbcUrl(), configuration.getJdbcUrl());
        assertNull(configuration.effectiveDataSource(), "the URL wins over the autowired DataSource");
        roundTrip(application, "through pgnotify's own pool");
        assertEquals(PgTestServer.PASSWORD_ROLE, server.queryValue(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'choice_it_own_pool'"),
                "the table was created by the configured user");
    }

    private ConfigurableApplicationContext start(Class<?> application, String... properties) {
        List<String> all = new ArrayList<>();
        all.add("camel.component.pgnotify.table=choice_it_queue");
        // given later, a test's own table wins
        all.addAll(List.of(properties));
        ConfigurableApplicationContext context = new SpringApplicationBuilder(application)
                .web(WebApplicationType.NONE)
                .properties(all.toArray(new String[0]))
                .run();
        started.add(context);
        return context;
    }

    private static RouteBuilder echoRoute() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:choice-events").routeId("choice-events").to("mock:choice");
            }
        };
    }

    private static void roundTrip(ConfigurableApplicationContext application, String body) throws Exception {
        CamelContext camelContext = application.getBean(CamelContext.class);
        MockEndpoint received = camelContext.getEndpoint("mock:choice", MockEndpoint.class);
        received.expectedBodiesReceived(body);
        application.getBean(ProducerTemplate.class).sendBody("pgnotify:choice-events", body);
        received.setResultWaitTime(10_000);
        received.assertIsSatisfied();
    }

    private static PgNotifyConfiguration configuration(ConfigurableApplicationContext application) {
        return application.getBean(CamelContext.class).getComponent("pgnotify", PgNotifyComponent.class)
                .getConfiguration();
    }

    private static DataSource dataSource() {
        PgTestServer server = TestDatabase.server();
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(server.jdbcUrl());
        dataSource.setUser(server.username());
        dataSource.setPassword(server.password());
        return dataSource;
    }

    private static String rootMessage(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append('\n');
        }
        return messages.toString();
    }
}
