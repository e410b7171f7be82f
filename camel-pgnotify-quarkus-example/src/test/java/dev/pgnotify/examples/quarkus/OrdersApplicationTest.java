package dev.pgnotify.examples.quarkus;

import java.time.Duration;
import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Drives the example over HTTP as its README does, against the real test server: an accepted order is saved and
 * shipped from its event; a refused one leaves neither an order nor an event; /q/health/ready shows the shipping
 * consumer.
 */
@QuarkusTest
@QuarkusTestResource(PgTestServerResource.class)
class OrdersApplicationTest {

    @Inject
    CamelContext camel;

    @Test
    void anAcceptedOrderIsSavedAndShippedFromItsEvent() {
        int id = given().contentType(ContentType.JSON).body(Map.of("item", "book", "quantity", 2))
                .when().post("/orders")
                .then().statusCode(201).extract().path("id");

        awaitShipped(id);
    }

    @Test
    void aRefusedOrderLeavesNeitherTheOrderNorItsEvent() throws Exception {
        NotifyBuilder refusedEventShipped = new NotifyBuilder(camel).fromRoute("ship-orders")
                .filter(exchange -> exchange.getMessage().getBody(String.class).contains("\"lamp\""))
                .whenReceived(1).create();
        given().contentType(ContentType.JSON).body(Map.of("item", "lamp", "quantity", 0))
                .when().post("/orders")
                .then().statusCode(422).body("error", containsString("quantity must be at least 1"));

        assertEquals(0L, count("SELECT count(*) FROM orders WHERE item = 'lamp'"), "the order rolled back");
        assertEquals(0L, count("SELECT (SELECT count(*) FROM message_queue WHERE body_json->>'item' = 'lamp')"
                               + " + (SELECT count(*) FROM message_queue_dead WHERE body_json->>'item' = 'lamp')"),
                "and its event with it: nothing to ship");
        // the table alone proves nothing: ship-orders deletes each event it acknowledges, within milliseconds. An
        // order placed after the refused one is shipped after any event the refused one had committed (one consumer
        // thread, events claimed in order), and the route never saw the lamp's
        int marker = given().contentType(ContentType.JSON).body(Map.of("item", "marker", "quantity", 1))
                .when().post("/orders")
                .then().statusCode(201).extract().path("id");
        awaitShipped(marker);
        assertFalse(refusedEventShipped.matches(), "the refused order's event never reached ship-orders");
    }

    @Test
    void theReadinessCheckShowsTheShippingConsumer() {
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'camel-pgnotify' }.data.'consumer:ship-orders'", is("UP"));
    }

    private static void awaitShipped(int id) {
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> given().when().get("/orders").then()
                .statusCode(200).body("find { it.id == " + id + " }.shipped_at", notNullValue()));
    }

    private static long count(String sql) throws Exception {
        return ((Number) PgTestServer.get().queryValue(sql)).longValue();
    }
}
