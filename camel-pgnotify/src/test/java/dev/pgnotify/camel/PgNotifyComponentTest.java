package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import javax.sql.DataSource;

import dev.pgnotify.camel.connection.EndpointConnections;
import org.apache.camel.CamelContext;
import org.apache.camel.ResolveEndpointFailedException;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.PropertyConfigurer;
import org.apache.camel.support.PluginHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Endpoint creation and option handling: everything that is decided before a database is contacted.
 */
class PgNotifyComponentTest {

    private CamelContext context;

    @BeforeEach
    void startContext() {
        context = new DefaultCamelContext();
        context.start();
    }

    @AfterEach
    void stopContext() {
        context.stop();
    }

    @Test
    void generatedConfigurersAreFoundSoCamelDoesNotFallBackToReflection() {
        PropertyConfigurer endpointConfigurer
                = PluginHelper.getConfigurerResolver(context).resolvePropertyConfigurer("pgnotify-endpoint", context);
        PropertyConfigurer componentConfigurer
                = PluginHelper.getConfigurerResolver(context).resolvePropertyConfigurer("pgnotify-component", context);
        assertInstanceOf(PgNotifyEndpointConfigurer.class, endpointConfigurer);
        assertInstanceOf(PgNotifyComponentConfigurer.class, componentConfigurer);
        assertNotNull(context.getCamelContextExtension().getEndpointUriFactory("pgnotify"));
    }

    @Test
    void componentIsFoundByItsScheme() {
        assertInstanceOf(PgNotifyComponent.class, context.getComponent("pgnotify"));
    }

    @Test
    void endpointOptionsAreParsed() {
        PgNotifyEndpoint endpoint = context.getEndpoint(
                "pgnotify:Orders?mode=notify&jdbcUrl=jdbc:postgresql://db:5432/app&username=app&reconnectDelay=2s"
                                                        + "&maxReconnectDelay=1m&connectionCheckInterval=500",
                PgNotifyEndpoint.class);
        PgNotifyConfiguration configuration = endpoint.getConfiguration();
        assertEquals("Orders", endpoint.getChannel());
        assertEquals(PgNotifyMode.NOTIFY, configuration.getMode());
        assertEquals("jdbc:postgresql://db:5432/app", configuration.getJdbcUrl());
        assertEquals("app", configuration.getUsername());
        assertEquals(2000, configuration.getReconnectDelay());
        assertEquals(60000, configuration.getMaxReconnectDelay());
        assertEquals(500, configuration.getConnectionCheckInterval());
    }

    @Test
    void componentOptionsApplyToEndpointsThatDoNotOverrideThem() {
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl("jdbc:postgresql://shared/app");
        component.getConfiguration().setMode(PgNotifyMode.NOTIFY);

        PgNotifyEndpoint plain = context.getEndpoint("pgnotify:a", PgNotifyEndpoint.class);
        PgNotifyEndpoint overriding = context.getEndpoint("pgnotify:b?jdbcUrl=jdbc:postgresql://other/app",
                PgNotifyEndpoint.class);

        assertEquals("jdbc:postgresql://shared/app", plain.getConfiguration().getJdbcUrl());
        assertEquals(PgNotifyMode.NOTIFY, plain.getConfiguration().getMode());
        assertEquals("jdbc:postgresql://other/app", overriding.getConfiguration().getJdbcUrl());
        // the endpoint's configuration is a copy: changing it leaves the component's alone
        assertEquals("jdbc:postgresql://shared/app", component.getConfiguration().getJdbcUrl());
    }

    @Test
    void queueIsTheDefaultMode() {
        assertEquals(PgNotifyMode.QUEUE, context.getEndpoint("pgnotify:a", PgNotifyEndpoint.class)
                .getConfiguration().getMode());
    }

    @Test
    void unknownOptionIsRejectedByName() {
        var e = assertThrows(ResolveEndpointFailedException.class,
                () -> context.getEndpoint("pgnotify:orders?mode=notify&reconectDelay=5"));
        assertTrue(e.getMessage().contains("reconectDelay"), e.getMessage());
    }

    @Test
    void invalidModeIsRejected() {
        var e = assertThrows(ResolveEndpointFailedException.class,
                () -> context.getEndpoint("pgnotify:orders?mode=fanout"));
        assertTrue(e.getMessage().contains("fanout"), e.getMessage());
    }

    @Test
    void invalidChannelIsRejectedWhenTheEndpointIsCreated() {
        var e = assertThrows(ResolveEndpointFailedException.class,
                () -> context.getEndpoint("pgnotify:" + "c".repeat(64) + "?mode=notify"));
        assertInstanceOf(PgNotifyInvalidChannelException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("at most 63 bytes"), e.getCause().getMessage());
    }

    @Test
    void passwordNeverShowsInTheEndpointUriCamelLogs() {
        PgNotifyEndpoint endpoint = context.getEndpoint(
                "pgnotify:orders?mode=notify&jdbcUrl=jdbc:postgresql://db/app&username=app&password=s3cr3t-Pa55",
                PgNotifyEndpoint.class);
        assertEquals("s3cr3t-Pa55", endpoint.getConfiguration().getPassword());
        assertFalse(endpoint.toString().contains("s3cr3t-Pa55"), endpoint.toString());
    }

    @Test
    void passwordWrittenIntoTheJdbcUrlDoesNotShowInMessages() {
        String description = EndpointConnections.describe("jdbc:postgresql://db/app?user=app&password=s3cr3t-Pa55",
                "app");
        assertFalse(description.contains("s3cr3t-Pa55"), description);
        assertTrue(description.contains("jdbc:postgresql://db/app"), description);
    }

    @Test
    void queueOptionsAreParsed() {
        PgNotifyEndpoint endpoint = context.getEndpoint(
                "pgnotify:orders?table=app.orders_queue&deadLetterTable=app.orders_failed&concurrentConsumers=4"
                                                        + "&maxMessagesPerPoll=50&pollInterval=5s&leaseTime=1m&maxAttempts=3"
                                                        + "&retryDelay=200&retryMultiplier=3&maxRetryDelay=10s&batch=true"
                                                        + "&createSchema=false&storeJsonAsJsonb=false",
                PgNotifyEndpoint.class);
        PgNotifyConfiguration configuration = endpoint.getConfiguration();
        assertEquals("app.orders_queue", configuration.getTable());
        assertEquals("app.orders_failed", configuration.getDeadLetterTable());
        assertEquals(4, configuration.getConcurrentConsumers());
        assertEquals(50, configuration.getMaxMessagesPerPoll());
        assertEquals(5000, configuration.getPollInterval());
        assertEquals(60000, configuration.getLeaseTime());
        assertEquals(3, configuration.getMaxAttempts());
        assertEquals(200, configuration.getRetryDelay());
        assertEquals(3.0, configuration.getRetryMultiplier());
        assertEquals(10000, configuration.getMaxRetryDelay());
        assertTrue(configuration.isBatch());
        assertFalse(configuration.isCreateSchema());
        assertFalse(configuration.isStoreJsonAsJsonb());
    }

    @Test
    void optionValuesThatCannotWorkAreRejectedByName() {
        for (String uri : new String[] {
                "pgnotify:orders?concurrentConsumers=0", "pgnotify:orders?maxAttempts=0",
                "pgnotify:orders?retryMultiplier=0.5", "pgnotify:orders?table=a.b.c",
                "pgnotify:orders?table=bad-name", "pgnotify:orders?maxMessagesPerPoll=-1" }) {
            String option = uri.substring(uri.indexOf('?') + 1, uri.indexOf('='));
            var e = assertThrows(Exception.class, () -> context.getEndpoint(uri).start(), uri);
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            assertInstanceOf(IllegalArgumentException.class, cause, uri);
            assertTrue(cause.getMessage().contains(option), cause.getMessage());
        }
    }

    @Test
    void missingDatabaseIsReportedWithTheOptionsToSet() {
        var e = assertThrows(Exception.class,
                () -> context.createProducerTemplate().sendBody("pgnotify:orders?mode=notify", "x"));
        Throwable cause = e;
        while (cause.getCause() != null && !(cause instanceof IllegalStateException)) {
            cause = cause.getCause();
        }
        assertInstanceOf(IllegalStateException.class, cause);
        assertTrue(cause.getMessage().contains("camel.component.pgnotify.jdbc-url"), cause.getMessage());
    }

    @Test
    void theRegistrysOnlyDataSourceIsAutowiredAndAUrlSetForPgnotifyWinsOverIt() throws Exception {
        DataSource application = new org.postgresql.ds.PGSimpleDataSource();
        try (CamelContext withBean = new DefaultCamelContext()) {
            withBean.getRegistry().bind("applicationDataSource", application);
            withBean.start();
            PgNotifyEndpoint endpoint = withBean.getEndpoint("pgnotify:a", PgNotifyEndpoint.class);
            assertSame(application, endpoint.getConfiguration().getDataSource(), "autowired, as camel-sql's");
        }
        try (CamelContext withBeanAndUrl = new DefaultCamelContext()) {
            withBeanAndUrl.getRegistry().bind("applicationDataSource", application);
            PgNotifyComponent component = new PgNotifyComponent();
            component.getConfiguration().setJdbcUrl("jdbc:postgresql://pgnotify-db/app");
            withBeanAndUrl.addComponent("pgnotify", component);
            withBeanAndUrl.start();
            PgNotifyEndpoint endpoint = withBeanAndUrl.getEndpoint("pgnotify:a", PgNotifyEndpoint.class);
            assertNull(endpoint.getConfiguration().effectiveDataSource(), "the URL set for pgnotify wins");
        }
    }

    @Test
    void withSeveralDataSourcesNoneIsAutowiredAndTheErrorNamesThem() throws Exception {
        try (CamelContext withBeans = new DefaultCamelContext()) {
            withBeans.getRegistry().bind("ordersDb", new org.postgresql.ds.PGSimpleDataSource());
            withBeans.getRegistry().bind("reportsDb", new org.postgresql.ds.PGSimpleDataSource());
            withBeans.start();
            var e = assertThrows(Exception.class,
                    () -> withBeans.createProducerTemplate().sendBody("pgnotify:orders", "x"));
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof IllegalStateException)) {
                cause = cause.getCause();
            }
            assertTrue(cause.getMessage().contains("2 DataSources (ordersDb, reportsDb)"), cause.getMessage());
            assertTrue(cause.getMessage().contains("camel.component.pgnotify.data-source=#bean:name"),
                    cause.getMessage());
        }
    }

    @Test
    void urlOnTheEndpointWinsOverTheComponentsDataSource() {
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setDataSource(new org.postgresql.ds.PGSimpleDataSource());
        PgNotifyEndpoint endpoint = context.getEndpoint("pgnotify:a?jdbcUrl=jdbc:postgresql://other/app",
                PgNotifyEndpoint.class);
        assertNull(endpoint.getConfiguration().effectiveDataSource());
    }

    @Test
    void transactedIsRejectedOutsideQueueMode() {
        var e = assertThrows(Exception.class,
                () -> context.getEndpoint("pgnotify:a?mode=topic&group=billing&transacted=true"));
        assertTrue(rootMessages(e).contains("transacted=true is supported with mode=queue only"), rootMessages(e));
    }

    @Test
    void aTransactedConsumerWithoutATransactionIntegrationFailsAtStartSayingWhatIsMissing() throws Exception {
        try (CamelContext camel = new DefaultCamelContext()) {
            camel.addRoutes(new org.apache.camel.builder.RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:jobs?transacted=true&jdbcUrl=jdbc:postgresql://nowhere.invalid/app").to("log:x");
                }
            });
            var e = assertThrows(Exception.class, camel::start);
            String messages = rootMessages(e);
            assertTrue(messages.contains("transacted=true needs a transaction integration"), messages);
            assertTrue(messages.contains("jdbcUrl is set"), messages);
            assertTrue(messages.contains("camel-pgnotify-spring-boot-starter"), messages);
        }
    }

    private static String rootMessages(Throwable failure) {
        StringBuilder messages = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append('\n');
        }
        return messages.toString();
    }
}
