package dev.pgnotify.examples.springboot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Ships each placed order from its event. The consumer is transacted: marking the order shipped and acknowledging
 * the event commit together, so an order is shipped exactly once however often the route fails or the application
 * dies; a route that keeps failing sends the event to the dead-letter table after maxAttempts.
 */
@Component
public class ShippingRoutes extends RouteBuilder {

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    public ShippingRoutes(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    @Override
    public void configure() {
        from(OrderService.ORDER_EVENTS + "?transacted=true&maxAttempts=5").routeId("ship-orders")
                .process(exchange -> {
                    JsonNode event = json.readTree(exchange.getMessage().getBody(String.class));
                    long orderId = event.get("orderId").asLong();
                    int updated = jdbc.update("UPDATE orders SET shipped_at = now() WHERE id = ? AND shipped_at IS NULL",
                            orderId);
                    exchange.getMessage().setHeader("shipped", updated);
                    exchange.getMessage().setHeader("orderId", orderId);
                })
                .log("Order ${header.orderId} shipped (event ${id}, delivery ${header.CamelPgNotifyAttempt})");
    }
}
