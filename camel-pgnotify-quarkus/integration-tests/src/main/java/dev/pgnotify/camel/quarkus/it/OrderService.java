package dev.pgnotify.camel.quarkus.it;

import java.sql.Connection;
import java.sql.PreparedStatement;

import javax.sql.DataSource;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.transaction.Transactional;
import org.apache.camel.ProducerTemplate;

/** Saves an order and sends its event in one JTA transaction: both or neither. */
@ApplicationScoped
public class OrderService {

    private final DataSource dataSource;
    private final ProducerTemplate producer;

    public OrderService(DataSource dataSource, ProducerTemplate producer) {
        this.dataSource = dataSource;
        this.producer = producer;
    }

    @Transactional
    public void place(String item) throws Exception {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement insert = connection.prepareStatement("INSERT INTO it_orders (item) VALUES (?)")) {
            insert.setString(1, item);
            insert.executeUpdate();
        }
        producer.sendBody("pgnotify:it-order-events", item);
        if (item.isEmpty()) {
            throw new IllegalArgumentException("an order needs an item");
        }
    }
}
