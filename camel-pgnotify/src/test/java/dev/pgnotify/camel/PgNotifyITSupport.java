package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/**
 * Base of the integration tests: a Camel context whose pgnotify component points at the test server.
 */
public abstract class PgNotifyITSupport extends CamelTestSupport {

    protected static PgTestServer server() {
        return PgTestServer.get();
    }

    @Override
    protected CamelContext createCamelContext() throws Exception {
        CamelContext context = super.createCamelContext();
        PgNotifyComponent component = new PgNotifyComponent();
        component.getConfiguration().setJdbcUrl(server().jdbcUrl());
        component.getConfiguration().setUsername(server().username());
        component.getConfiguration().setPassword(server().password());
        context.addComponent("pgnotify", component);
        return context;
    }

    /**
     * An application of its own (a Camel context with its own pgnotify component, so that producers of another one
     * cannot wake its consumers directly), on this database, started with these routes (or none).
     */
    protected static CamelContext application(String jdbcUrl, String username, String password, RouteBuilder routes)
            throws Exception {
        CamelContext application = new DefaultCamelContext();
        PgNotifyComponent component = new PgNotifyComponent();
        component.getConfiguration().setJdbcUrl(jdbcUrl);
        component.getConfiguration().setUsername(username);
        component.getConfiguration().setPassword(password);
        application.addComponent("pgnotify", component);
        if (routes != null) {
            application.addRoutes(routes);
        }
        application.start();
        return application;
    }

    /** Drops a queue table and its companions, so that a test starts from a queue of its own making. */
    protected static void dropQueue(String table) throws Exception {
        server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead, " + table + "_dedup CASCADE");
    }

    /** Drops a topic and everything named after it, so that a test starts from a topic of its own making. */
    protected static void dropTopic(String table) throws Exception {
        server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_state, " + table + "_groups, " + table
                         + "_cuts, " + table + "_items, " + table + "_dead CASCADE",
                "DROP SEQUENCE IF EXISTS " + table + "_id_seq CASCADE",
                "DROP FUNCTION IF EXISTS " + table + "_slot, " + table + "_cut, " + table + "_load, " + table + "_maintain, " + table
                                                                  + "_wake_up, " + table + "_items_xid CASCADE");
    }

    /** The messages along a failure's chain of causes, for asserting on what a user reads. */
    protected static String causeMessages(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            text.append(t.getMessage()).append(" | ");
        }
        return text.toString();
    }

    /**
     * A Camel context (not started) whose pgnotify component points at a server the test stops and starts: it gives
     * up a connection attempt after 5 s and tries again at least every second, so that it resumes soon after.
     */
    protected static CamelContext reconnectingTo(PgTestServer restartable) {
        CamelContext camel = new DefaultCamelContext();
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(restartable.jdbcUrl());
        component.getConfiguration().setUsername(restartable.username());
        component.getConfiguration().setConnectTimeout(5000);
        component.getConfiguration().setMaxReconnectDelay(1000);
        return camel;
    }

    /** A bounded wait for a condition. */
    protected static ConditionFactory await(Duration atMost) {
        return Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(20));
    }

    /** The server process of a session (pg_backend_pid()). */
    protected static int backendPid(Connection session) throws SQLException {
        try (Statement statement = session.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Returns once the session of that server process waits for a lock; fails after 10 s. */
    protected static void awaitLockWait(long pid) {
        await(Duration.ofSeconds(10)).until(() -> "Lock".equals(
                server().queryValue("SELECT wait_event_type FROM pg_stat_activity WHERE pid = " + pid)));
    }

    /** Connections that pgnotify opened (pooled and LISTEN), as PostgreSQL sees them. */
    protected static long ourConnections() throws SQLException {
        return ((Number) server().queryValue(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'camel-pgnotify%'")).longValue();
    }

    /** The LISTEN connections pgnotify holds (one per component and database, shared by its consumers). */
    protected static long ourListenerConnections() throws SQLException {
        return ((Number) server().queryValue("SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
                                             + ListenerConnections.LISTENER_APPLICATION_NAME + "'"))
                .longValue();
    }

    /** The backend process of the (one) LISTEN connection, or null. */
    protected static Integer listenerBackendPid() throws SQLException {
        return (Integer) server().queryValue("SELECT pid FROM pg_stat_activity WHERE application_name = '"
                                             + ListenerConnections.LISTENER_APPLICATION_NAME + "'");
    }

    /**
     * Waits until the consumers of a queue table have claimed that many more times: the index scans of their fresh
     * claims, on the table's claim index (a session reports its counts about once a second, so they come in steps).
     */
    protected static void awaitClaims(String table, int claims) throws SQLException {
        long before = claimScans(table);
        await(Duration.ofSeconds(30)).until(() -> claimScans(table) - before >= claims);
    }

    private static long claimScans(String table) throws SQLException {
        return ((Number) server().queryValue("SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes"
                                             + " WHERE relname = '" + table + "' AND indexrelname = '" + table
                                             + "_claim'")).longValue();
    }

    /** Threads whose name contains this text. */
    protected static long threadsNamed(String part) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().contains(part)).count();
    }
}
