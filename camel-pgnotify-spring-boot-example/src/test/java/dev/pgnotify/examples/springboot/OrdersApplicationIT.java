package dev.pgnotify.examples.springboot;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Drives the example over HTTP as its README does: an accepted order is saved and shipped from its event; a refused
 * one leaves neither an order nor an event; the actuator's health shows the shipping consumer.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OrdersApplicationIT {

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws Exception {
        PgTestServer server = PgTestServer.get();
        server.execute("DROP TABLE IF EXISTS orders, message_queue, message_queue_dead CASCADE");
        registry.add("spring.datasource.url", server::jdbcUrl);
        registry.add("spring.datasource.username", server::username);
        registry.add("spring.datasource.password", server::password);
    }

    /** An order event of quantity 0: what a refused order would have sent. */
    private static final Pattern QUANTITY_ZERO = Pattern.compile("\"quantity\"\\s*:\\s*0\\b");

    @Autowired
    TestRestTemplate http;

    @Autowired
    CamelContext camel;

    @Test
    void anAcceptedOrderIsSavedAndShippedFromItsEvent() {
        ResponseEntity<Map<String, Object>> placed = place("book", 2);
        assertEquals(HttpStatus.CREATED, placed.getStatusCode());
        long id = ((Number) placed.getBody().get("id")).longValue();

        awaitShipped(id);
    }

    @Test
    void aRefusedOrderLeavesNeitherTheOrderNorItsEvent() throws Exception {
        NotifyBuilder refusedEventShipped = new NotifyBuilder(camel).fromRoute("ship-orders")
                .filter(exchange -> QUANTITY_ZERO.matcher(exchange.getMessage().getBody(String.class)).find())
                .whenReceived(1).create();
        int before = orders().size();
        ResponseEntity<Map<String, Object>> refused = place("book", 0);
        assertEquals(HttpStatus.UNPROCESSABLE_ENTITY, refused.getStatusCode());
        assertTrue(String.valueOf(refused.getBody().get("error")).contains("quantity must be at least 1"));
        assertEquals(before, orders().size(), "the order rolled back");
        assertEquals(0L, ((Number) PgTestServer.get().queryValue(
                "SELECT count(*) FROM message_queue WHERE body_json->>'quantity' = '0'")).longValue(),
                "and its event with it");
        // the table alone proves nothing: ship-orders deletes each event it acknowledges, within milliseconds. An
        // order placed after the refused one is shipped after any event the refused one had committed (one consumer
        // thread, events claimed in order), and the route never saw one of quantity 0
        ResponseEntity<Map<String, Object>> marker = place("marker", 1);
        assertEquals(HttpStatus.CREATED, marker.getStatusCode());
        long markerId = ((Number) marker.getBody().get("id")).longValue();
        awaitShipped(markerId);
        assertFalse(refusedEventShipped.matches(), "the refused order's event never reached ship-orders");
    }

    @Test
    void theActuatorsHealthShowsTheShippingConsumer() {
        ResponseEntity<String> health = http.getForEntity("/actuator/health", String.class);
        assertEquals(HttpStatus.OK, health.getStatusCode(), health.getBody());
        assertTrue(health.getBody().contains("ship-orders"), health.getBody());
    }

    @Test
    void theDevConsoleAndTheMetricsShowTheChannel() {
        place("pen", 1);
        ResponseEntity<String> console = http.getForEntity("/actuator/camel/pgnotify", String.class);
        assertEquals(HttpStatus.OK, console.getStatusCode(), console.getBody());
        assertTrue(console.getBody().contains("order-events") && console.getBody().contains("deadLetters"),
                console.getBody());
        ResponseEntity<String> metric = http.getForEntity("/actuator/metrics/pgnotify.messages", String.class);
        assertEquals(HttpStatus.OK, metric.getStatusCode(), metric.getBody());
        assertTrue(metric.getBody().contains("order-events"), metric.getBody());
    }

    private void awaitShipped(long id) {
        await().atMost(Duration.ofSeconds(15)).until(() -> orders().stream()
                .anyMatch(order -> ((Number) order.get("id")).longValue() == id && order.get("shipped_at") != null));
    }

    private ResponseEntity<Map<String, Object>> place(String item, int quantity) {
        return http.exchange("/orders", HttpMethod.POST,
                new org.springframework.http.HttpEntity<>(Map.of("item", item, "quantity", quantity)),
                new ParameterizedTypeReference<>() {
                });
    }

    private List<Map<String, Object>> orders() {
        return http.exchange("/orders", HttpMethod.GET, null,
                new ParameterizedTypeReference<List<Map<String, Object>>>() {
                }).getBody();
    }
}
