package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.sql.DataSource;

import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A producer that joins the application's transaction changes settings on its connection for its own INSERT (defer the
 * table trigger's wake-up, the deduplication window). They must not outlive that INSERT: the application's own SQL
 * later in the same transaction must behave as anywhere else (its INSERTs into the queue wake consumers through the
 * trigger, with their own deduplication window).
 */
class JoinedProducerSettingsIT extends PgNotifyITSupport {

    private static final String TABLE = "joined_settings_it_queue";
    private static final String ORDERS = "pgnotify:orders?table=" + TABLE;

    private final TransactionalProducerIT.ThreadBoundTransactions transactions
            = new TransactionalProducerIT.ThreadBoundTransactions();
    private final List<String> audited = new CopyOnWriteArrayList<>();
    private final List<String> ledger = new CopyOnWriteArrayList<>();
    private DataSource dataSource;

    @Override
    protected CamelContext createCamelContext() throws Exception {
        CamelContext context = super.createCamelContext();
        PGSimpleDataSource pg = new PGSimpleDataSource();
        pg.setUrl(server().jdbcUrl());
        pg.setUser(server().username());
        pg.setPassword(server().password());
        dataSource = pg;
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(null);
        component.getConfiguration().setDataSource(dataSource);
        component.getConfiguration().setTransactions(transactions);
        return context;
    }

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                // polls once a minute: only a wake-up delivers within seconds
                from("pgnotify:audit?table=" + TABLE + "&pollInterval=60000").routeId("audit")
                        .process(exchange -> audited.add(exchange.getMessage().getBody(String.class)));
                // polls often: its deliveries do not depend on wake-ups
                from("pgnotify:ledger?table=" + TABLE + "&pollInterval=200").routeId("ledger")
                        .process(exchange -> ledger.add(exchange.getMessage().getBody(String.class)));
            }
        };
    }

    /**
     * In one application transaction: a joined send on channel orders, then a plain SQL INSERT into the same queue table
     * on channel audit; commit. The audit consumer (pollInterval one minute) must be woken by the table trigger's NOTIFY
     * within seconds. Today the producer's set_config('pgnotify.wake_up', 'deferred', true) lasts for the rest of the
     * transaction and silences the trigger for the application's INSERT too, and pgnotify's own after-commit wake-up is
     * for channel orders only: the message waits for the next poll, a minute.
     */
    @Test
    void anInsertAfterAJoinedSendInTheSameTransactionWakesItsConsumers() throws Exception {
        transactions.inTransaction(dataSource, () -> {
            template.sendBody(ORDERS, "order 1");
            insert("audit", "audited by SQL", null);
            return null;
        });
        await(Duration.ofSeconds(3)).alias("the application's INSERT woke the consumer (its trigger's NOTIFY)")
                .until(() -> audited.contains("audited by SQL"));
    }

    /**
     * The same transaction's INSERT with a deduplication id (and no window of its own: 0) after a joined send on an
     * endpoint with deduplicationWindow of an hour: once its message is acknowledged, the id must be free again. Today
     * the producer's window setting lasts for the rest of the transaction: the id stays taken for an hour and the next
     * message with it is dropped as a duplicate.
     */
    @Test
    void anInsertAfterAJoinedSendInTheSameTransactionKeepsItsOwnDeduplicationWindow() throws Exception {
        transactions.inTransaction(dataSource, () -> {
            template.sendBody(ORDERS + "&deduplicationWindow=3600000", "order 2");
            insert("ledger", "entry 1", "entry-id");
            return null;
        });
        await(Duration.ofSeconds(10)).until(() -> ledger.contains("entry 1"));
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE + " WHERE channel = 'ledger'")).longValue() == 0);

        // acknowledged, with a window of 0: the id is free again
        try (Connection connection = server().connect();
             PreparedStatement insert = connection.prepareStatement("INSERT INTO " + TABLE + " (channel, body_text,"
                                                                    + " dedup_id) VALUES ('ledger', 'entry 2', 'entry-id')")) {
            assertEquals(1, insert.executeUpdate(),
                    "the deduplication id is free again once its message was acknowledged (window 0)");
        }
        await(Duration.ofSeconds(5)).until(() -> ledger.contains("entry 2"));
    }

    private void insert(String channel, String body, String deduplicationId) throws Exception {
        Connection connection = transactions.transactionConnection(dataSource);
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO " + TABLE + " (channel, body_text, dedup_id) VALUES (?, ?, ?)")) {
            insert.setString(1, channel);
            insert.setString(2, body);
            insert.setString(3, deduplicationId);
            insert.executeUpdate();
        }
    }
}
