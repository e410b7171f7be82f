package dev.pgnotify.examples.springboot;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.ProducerTemplate;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * Saves orders and publishes their events in the same database transaction: the event exists if and only if the
 * order does.
 */
@Service
public class OrderService {

    static final String ORDER_EVENTS = "pgnotify:order-events";

    private final JdbcTemplate jdbc;
    private final ProducerTemplate producer;
    private final ObjectMapper json;

    public OrderService(JdbcTemplate jdbc, ProducerTemplate producer, ObjectMapper json) {
        this.jdbc = jdbc;
        this.producer = producer;
        this.json = json;
    }

    /**
     * Saves the order and publishes {@code OrderPlaced}, then checks the order: a refused one throws, and the order and
     * its event roll back together. (The check comes last on purpose, to show the rollback.)
     */
    @Transactional
    public long placeOrder(String item, int quantity) throws JsonProcessingException {
        Long id = jdbc.queryForObject("INSERT INTO orders (item, quantity) VALUES (?, ?) RETURNING id", Long.class,
                item, quantity);
        // on the transaction's connection: committed with the order, and the consumer is woken after the commit
        producer.sendBody(ORDER_EVENTS, json.writeValueAsString(
                Map.of("type", "OrderPlaced", "orderId", id, "item", item, "quantity", quantity)));
        if (quantity <= 0) {
            throw new OrderRefusedException("quantity must be at least 1, not " + quantity);
        }
        return id;
    }

    public List<Map<String, Object>> orders() {
        return jdbc.queryForList("SELECT id, item, quantity, placed_at, shipped_at FROM orders ORDER BY id");
    }

    /** A refused order: nothing of it is saved, no event published. */
    public static class OrderRefusedException extends RuntimeException {
        public OrderRefusedException(String message) {
            super(message);
        }
    }
}
