package dev.pgnotify.camel.quarkus.it;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.sql.DataSource;

import jakarta.enterprise.context.ApplicationScoped;
import org.apache.camel.builder.RouteBuilder;

/**
 * The routes the tests drive. it-shipments is transacted: its JDBC insert commits with the message's acknowledgement,
 * and a failing message rolls it back (then goes to the dead letters after maxAttempts, configured in
 * application.properties). it-named reads its queue from the named DataSource "events".
 */
@ApplicationScoped
public class ItRoutes extends RouteBuilder {

    /** What it-named received, in order. */
    public static final List<String> NAMED = new CopyOnWriteArrayList<>();

    private final DataSource dataSource;

    public ItRoutes(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public void configure() {
        from("pgnotify:it-shipments?transacted=true").routeId("it-shipments")
                .process(exchange -> {
                    String body = exchange.getMessage().getBody(String.class);
                    // on the transaction's connection: Agroal enlisted it in the consumer's JTA transaction
                    try (Connection connection = dataSource.getConnection();
                         PreparedStatement insert = connection.prepareStatement(
                                 "INSERT INTO it_shipments (item) VALUES (?)")) {
                        insert.setString(1, body);
                        insert.executeUpdate();
                    }
                    if (body.startsWith("fail")) {
                        throw new IllegalStateException("refused: " + body);
                    }
                });
        from("pgnotify:it-named?dataSource=#events").routeId("it-named")
                .process(exchange -> NAMED.add(exchange.getMessage().getBody(String.class)));
    }
}
