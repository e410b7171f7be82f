package dev.pgnotify.examples;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

/**
 * An application's own transaction, in plain JDBC: it writes the business row and the message announcing it in one
 * transaction (the outbox pattern). The message exists if and only if the order does; pgnotify delivers it once the
 * transaction has committed. No Camel here: any language or framework can publish this way.
 */
public class OutboxOrderService {

    static final String SCHEMA = "CREATE TABLE IF NOT EXISTS demo_orders (id bigint GENERATED ALWAYS AS IDENTITY"
                                 + " PRIMARY KEY, customer text NOT NULL, total numeric(12, 2) NOT NULL)";

    private final DataSource dataSource;
    private final DemoStatus status;

    public OutboxOrderService(DataSource dataSource, DemoStatus status) throws SQLException {
        this.dataSource = dataSource;
        this.status = status;
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(SCHEMA);
        }
    }

    /** Stores the order and its order-placed event; returns the order id. */
    public long placeOrder(String customer, BigDecimal total) throws SQLException {
        return store(customer, total, false);
    }

    /**
     * Stores the order and its event, then fails before committing (say, the payment was declined): neither the
     * order nor the event remains, and nothing is delivered.
     */
    public long placeOrderThenFailBeforeCommit(String customer, BigDecimal total) throws SQLException {
        return store(customer, total, true);
    }

    private long store(String customer, BigDecimal total, boolean failBeforeCommit) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                long orderId;
                try (PreparedStatement order = connection.prepareStatement(
                        "INSERT INTO demo_orders (customer, total) VALUES (?, ?) RETURNING id")) {
                    order.setString(1, customer);
                    order.setBigDecimal(2, total);
                    try (ResultSet rs = order.executeQuery()) {
                        rs.next();
                        orderId = rs.getLong(1);
                    }
                }
                try (PreparedStatement event = connection.prepareStatement(
                        "INSERT INTO message_queue (channel, body_json, headers)"
                                                                           + " VALUES ('order-events', jsonb_build_object('orderId', ?::bigint, 'customer', ?::text,"
                                                                           + " 'total', ?::numeric), jsonb_build_object('orderId', ?::bigint))")) {
                    event.setLong(1, orderId);
                    event.setString(2, customer);
                    event.setBigDecimal(3, total);
                    event.setLong(4, orderId);
                    event.executeUpdate();
                }
                if (failBeforeCommit) {
                    throw new IllegalStateException("payment declined for order " + orderId);
                }
                connection.commit();
                status.sent("order-events");
                return orderId;
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        }
    }
}
