package dev.pgnotify.examples.quarkus;

import java.sql.Connection;
import java.sql.PreparedStatement;

import javax.sql.DataSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.camel.builder.RouteBuilder;

/**
 * Ships each placed order from its event. The consumer is transacted: marking the order shipped (on the Agroal
 * DataSource, whose connection joins the consumer's JTA transaction) and acknowledging the event commit together, so an
 * order is shipped exactly once however often the route fails or the application dies; a route that keeps failing
 * sends the event to the dead-letter table after maxAttempts.
 */
@ApplicationScoped
public class ShippingRoutes extends RouteBuilder {

    private final DataSource dataSource;
    private final ObjectMapper json;

    public ShippingRoutes(DataSource dataSource, ObjectMapper json) {
        this.dataSource = dataSource;
        this.json = json;
    }

    @Override
    public void configure() {
        from(OrderService.ORDER_EVENTS + "?transacted=true&maxAttempts=5").routeId("ship-orders")
                .process(exchange -> {
                    JsonNode event = json.readTree(exchange.getMessage().getBody(String.class));
                    long orderId = event.get("orderId").asLong();
                    try (Connection connection = dataSource.getConnection();
                         PreparedStatement ship = connection.prepareStatement(
                                 "UPDATE orders SET shipped_at = now() WHERE id = ? AND shipped_at IS NULL")) {
                        ship.setLong(1, orderId);
                        exchange.getMessage().setHeader("shipped", ship.executeUpdate());
                    }
                    exchange.getMessage().setHeader("orderId", orderId);
                })
                .log("Order ${header.orderId} shipped (event ${id}, delivery ${header.CamelPgNotifyAttempt})");
    }
}
