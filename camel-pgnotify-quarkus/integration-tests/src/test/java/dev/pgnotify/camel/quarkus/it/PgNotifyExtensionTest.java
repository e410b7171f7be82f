package dev.pgnotify.camel.quarkus.it;

import java.time.Duration;
import java.util.List;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.quarkus.JtaPgNotifyTransactions;
import dev.pgnotify.camel.test.PgTestServer;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A Quarkus application with the extension, against a real PostgreSQL, in one boot: the component takes the default
 * Agroal DataSource (the application has two) and camel.component.pgnotify.* from application.properties; a route
 * names the other DataSource; a @Transactional method's message commits and rolls back with its JDBC work; a transacted
 * consumer's JDBC work commits with the message's acknowledgement; the consumers show in /q/health/ready, DOWN while
 * their database refuses them.
 */
@QuarkusTest
@QuarkusTestResource(PgTestResource.class)
class PgNotifyExtensionTest {

    @Inject
    CamelContext camel;

    @Inject
    ProducerTemplate producer;

    @Inject
    OrderService orders;

    @Test
    void theComponentHasTheDefaultDataSourceThePropertiesAndJta() throws Exception {
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        assertInstanceOf(AgroalDataSource.class, component.getConfiguration().getDataSource().unwrap(AgroalDataSource.class));
        assertInstanceOf(JtaPgNotifyTransactions.class, component.getConfiguration().getTransactions());
        assertEquals("it_queue", component.getConfiguration().getTable(), "camel.component.pgnotify.table");
        assertEquals(2, component.getConfiguration().getMaxAttempts(), "camel.component.pgnotify.max-attempts");
    }

    @Test
    void aTransactionalMethodsMessageCommitsAndRollsBackWithItsOrder() throws Exception {
        orders.place("book");
        assertEquals(1L, count("SELECT count(*) FROM it_orders WHERE item = 'book'"));
        assertEquals(1L, count("SELECT count(*) FROM it_queue WHERE channel = 'it-order-events' AND body_text = 'book'"));

        assertThrows(IllegalArgumentException.class, () -> orders.place(""));
        assertEquals(0L, count("SELECT count(*) FROM it_orders WHERE item = ''"), "the order rolled back");
        assertEquals(0L, count("SELECT count(*) FROM it_queue WHERE channel = 'it-order-events' AND body_text = ''"),
                "and its message with it");
    }

    @Test
    void aTransactedConsumersWorkCommitsWithTheMessageOrNotAtAll() throws Exception {
        producer.sendBody("pgnotify:it-shipments", "pen");
        producer.sendBody("pgnotify:it-shipments", "fail-lamp");
        await().atMost(Duration.ofSeconds(20)).until(() -> count("SELECT count(*) FROM it_queue_dead"
                                                                 + " WHERE channel = 'it-shipments'") == 1);
        assertEquals(1L, count("SELECT count(*) FROM it_shipments WHERE item = 'pen'"));
        assertEquals(0L, count("SELECT count(*) FROM it_shipments WHERE item = 'fail-lamp'"),
                "both failed deliveries' inserts rolled back");
        assertEquals(0L, count("SELECT count(*) FROM it_queue WHERE channel = 'it-shipments'"));
    }

    @Test
    void aRouteNamesTheOtherDataSource() throws Exception {
        producer.sendBody("pgnotify:it-named?dataSource=#events", "on events");
        await().atMost(Duration.ofSeconds(20)).until(() -> ItRoutes.NAMED.equals(List.of("on events")));
        assertEquals(0L, count("SELECT count(*) FROM pg_tables WHERE tablename = 'it_queue' AND EXISTS"
                               + " (SELECT 1 FROM it_queue WHERE channel = 'it-named')"),
                "the default database never saw it");
    }

    @Test
    void theConsumersShowInQuarkusHealthDownWhileTheirDatabaseIsUnreachable() throws Exception {
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'camel-pgnotify' }.status", is("UP"),
                        "checks.find { it.name == 'camel-pgnotify' }.data.'consumer:it-shipments'", is("UP"),
                        "checks.find { it.name == 'camel-pgnotify' }.data.'consumer:it-named'", is("UP"));

        // the named DataSource's database refuses connections, and those open are cut: it-named cannot work
        PgTestServer server = PgTestServer.get();
        try {
            server.execute("ALTER DATABASE " + PgTestResource.EVENTS_DATABASE + " ALLOW_CONNECTIONS false",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
                    + PgTestResource.EVENTS_DATABASE + "'");
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().when().get("/q/health/ready").then()
                    .statusCode(503)
                    .body("checks.find { it.name == 'camel-pgnotify' }.status", is("DOWN"),
                            "checks.find { it.name == 'camel-pgnotify' }.data.'consumer:it-named'", is("DOWN"),
                            "checks.find { it.name == 'camel-pgnotify' }.data.'consumer:it-shipments'", is("UP")));
        } finally {
            server.execute("ALTER DATABASE " + PgTestResource.EVENTS_DATABASE + " ALLOW_CONNECTIONS true");
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().when().get("/q/health/ready").then()
                .statusCode(200).body("checks.find { it.name == 'camel-pgnotify' }.status", is("UP")));
    }

    private static long count(String sql) throws Exception {
        return ((Number) PgTestServer.get().queryValue(sql)).longValue();
    }
}
