package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import javax.sql.DataSource;

import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A producer called inside the application's transaction on the endpoint's DataSource inserts on that transaction's
 * connection: a rollback leaves no message, a commit delivers it, and consumers are woken after the commit (with a poll
 * interval of a minute, only that wake-up can deliver within seconds). The transaction here is a plain JDBC one bound
 * to the thread, through the SPI a framework's integration (Spring's, in the starter) fills.
 */
class TransactionalProducerIT extends PgNotifyITSupport {

    private static final String TABLE = "tx_it_queue";
    private static final String ORDERS = "tx_it_orders";
    private static final String SEND = "pgnotify:orders?table=" + TABLE;

    private final ThreadBoundTransactions transactions = new ThreadBoundTransactions();
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
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead, " + ORDERS + " CASCADE",
                "CREATE TABLE " + ORDERS + " (id int PRIMARY KEY)");
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(SEND + "&pollInterval=60000").routeId("events").to("mock:events");
            }
        };
    }

    @Test
    void aRolledBackTransactionLeavesNoMessageAndACommittedOneIsDeliveredAtOnce() throws Exception {
        MockEndpoint events = getMockEndpoint("mock:events");
        events.expectedBodiesReceived("order 2");

        assertThrows(IllegalStateException.class, () -> transactions.inTransaction(dataSource, () -> {
            saveOrder(1);
            template.sendBody(SEND, "order 1");
            throw new IllegalStateException("payment refused");
        }));
        assertEquals(0L, count("SELECT count(*) FROM " + ORDERS), "the order rolled back");
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE), "and its message with it");

        transactions.inTransaction(dataSource, () -> {
            saveOrder(2);
            template.sendBody(SEND, "order 2");
            assertEquals(0L, count("SELECT count(*) FROM " + TABLE), "invisible to others before the commit");
            return null;
        });
        // delivered within seconds although the consumer polls once a minute: woken after the commit
        events.setResultWaitTime(10_000);
        events.assertIsSatisfied();
        assertEquals(1L, count("SELECT count(*) FROM " + ORDERS));
    }

    @Test
    void outsideATransactionTheProducerCommitsOnItsOwn() throws Exception {
        MockEndpoint events = getMockEndpoint("mock:events");
        events.expectedBodiesReceived("no transaction");
        template.sendBody(SEND, "no transaction");
        events.setResultWaitTime(10_000);
        events.assertIsSatisfied();
    }

    @Test
    void aBatchJoinsTheTransactionWhole() throws Exception {
        assertThrows(IllegalStateException.class, () -> transactions.inTransaction(dataSource, () -> {
            template.sendBody(SEND + "&batch=true", List.of("a", "b", "c"));
            throw new IllegalStateException("a later step failed");
        }));
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE), "a failure later in the transaction rolls the batch back");
    }

    private void saveOrder(int id) throws SQLException {
        Connection connection = transactions.transactionConnection(dataSource);
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + ORDERS + " VALUES (?)")) {
            insert.setInt(1, id);
            insert.executeUpdate();
        }
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }

    /** A JDBC transaction bound to the calling thread: what Spring's DataSourceUtils does, reduced to the SPI. */
    static final class ThreadBoundTransactions implements PgNotifyTransactions {

        private final ThreadLocal<Connection> current = new ThreadLocal<>();
        private final ThreadLocal<List<Runnable>> afterCommit = new ThreadLocal<>();

        @Override
        public <T> T inTransaction(DataSource dataSource, Callable<T> work) throws Exception {
            try (Connection connection = dataSource.getConnection()) {
                connection.setAutoCommit(false);
                current.set(connection);
                afterCommit.set(new ArrayList<>());
                try {
                    T result = work.call();
                    connection.commit();
                    afterCommit.get().forEach(Runnable::run);
                    return result;
                } catch (Exception e) {
                    connection.rollback();
                    throw e;
                } finally {
                    current.remove();
                    afterCommit.remove();
                }
            }
        }

        @Override
        public Connection transactionConnection(DataSource dataSource) {
            return current.get();
        }

        @Override
        public void release(Connection connection, DataSource dataSource) {
            // the transaction owns it
        }

        @Override
        public void afterCommit(Runnable action) {
            afterCommit.get().add(action);
        }
    }
}
