package dev.pgnotify.examples.quarkus;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.transaction.Transactional;
import org.apache.camel.ProducerTemplate;

/**
 * Saves orders and publishes their events in the same JTA transaction: the event exists if and only if the order
 * does. Plain JDBC on the application's Agroal DataSource, which enlists its connection in the transaction; pgnotify's
 * producer inserts the event on that same connection.
 */
@ApplicationScoped
public class OrderService {

    static final String ORDER_EVENTS = "pgnotify:order-events";

    private final DataSource dataSource;
    private final ProducerTemplate producer;
    private final ObjectMapper json;

    public OrderService(DataSource dataSource, ProducerTemplate producer, ObjectMapper json) {
        this.dataSource = dataSource;
        this.producer = producer;
        this.json = json;
    }

    /** The orders table (the queue table is pgnotify's to create). */
    void createTable(@Observes StartupEvent started) throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE IF NOT EXISTS orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                              + " item text NOT NULL, quantity integer NOT NULL,"
                              + " placed_at timestamptz NOT NULL DEFAULT now(), shipped_at timestamptz)");
        }
    }

    /**
     * Saves the order and publishes {@code OrderPlaced}, then checks the order: a refused one throws, and the order and
     * its event roll back together. (The check comes last on purpose, to show the rollback.)
     */
    @Transactional
    public long placeOrder(String item, int quantity) throws SQLException, JsonProcessingException {
        long id;
        try (Connection connection = dataSource.getConnection();
             PreparedStatement insert = connection.prepareStatement(
                     "INSERT INTO orders (item, quantity) VALUES (?, ?) RETURNING id")) {
            insert.setString(1, item);
            insert.setInt(2, quantity);
            try (ResultSet inserted = insert.executeQuery()) {
                inserted.next();
                id = inserted.getLong(1);
            }
        }
        // on the transaction's connection: committed with the order, and the consumer is woken after the commit
        producer.sendBody(ORDER_EVENTS, json.writeValueAsString(
                Map.of("type", "OrderPlaced", "orderId", id, "item", item, "quantity", quantity)));
        if (quantity <= 0) {
            throw new OrderRefusedException("quantity must be at least 1, not " + quantity);
        }
        return id;
    }

    public List<Map<String, Object>> orders() throws SQLException {
        List<Map<String, Object>> orders = new ArrayList<>();
        try (Connection connection = dataSource.getConnection();
             PreparedStatement select = connection.prepareStatement(
                     "SELECT id, item, quantity, placed_at, shipped_at FROM orders ORDER BY id");
             ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                Map<String, Object> order = new LinkedHashMap<>();
                order.put("id", rows.getLong("id"));
                order.put("item", rows.getString("item"));
                order.put("quantity", rows.getInt("quantity"));
                order.put("placed_at", String.valueOf(rows.getObject("placed_at")));
                Object shippedAt = rows.getObject("shipped_at");
                order.put("shipped_at", shippedAt == null ? null : shippedAt.toString());
                orders.add(order);
            }
        }
        return orders;
    }

    /** A refused order: nothing of it is saved, no event published. */
    public static class OrderRefusedException extends RuntimeException {
        public OrderRefusedException(String message) {
            super(message);
        }
    }
}
