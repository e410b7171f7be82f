package dev.pgnotify.camel.admin;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyMode;
import dev.pgnotify.camel.PgNotifyStatistics;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.connection.EndpointConnections;
import dev.pgnotify.camel.connection.ReadTransaction;
import dev.pgnotify.camel.listen.ListenSql;

/**
 * An endpoint's operations for operators (JMX, the dev console, a producer's operation header, a Micrometer gauge):
 * its channel's figures, measured at most once a second however often they are read, and its dead letters delivered
 * again or discarded. Each runs on the caller's thread on a pooled connection, never on a consumer's, within bounds.
 */
public final class EndpointAdmin {

    /** Figures younger than this are answered from memory: gauges and consoles may poll as often as they like. */
    static final long STATISTICS_MAX_AGE_MILLIS = 1000;
    /** The longest a measurement may take, server-side: it gives up rather than loading the database. */
    static final long STATISTICS_TIMEOUT_MILLIS = 3000;

    private record Measured(List<PgNotifyStatistics> statistics, long atNanos) {
    }

    @FunctionalInterface
    private interface AdminWork<T> {
        T apply(ChannelAdmin admin, Connection connection) throws SQLException;
    }

    /**
     * What the channel's mode provides: its operations on this database, its schema resolved within the bound (a
     * measurement gives up after its own bound rather than wait for a schema lock another application holds).
     */
    @FunctionalInterface
    public interface Admins {
        ChannelAdmin on(Database database, long boundMillis) throws SQLException;
    }

    private final String channel;
    private final PgNotifyConfiguration configuration;
    private final EndpointConnections connections;
    private final Admins admins;
    private volatile Measured measured;

    public EndpointAdmin(String channel, PgNotifyConfiguration configuration, EndpointConnections connections,
                         Admins admins) {
        this.channel = channel;
        this.configuration = configuration;
        this.connections = connections;
        this.admins = admins;
    }

    /** The channel's figures: mode=queue, one; mode=topic, one per group (the endpoint's group only, when set). */
    public List<PgNotifyStatistics> statistics() throws SQLException {
        Measured last = measured;
        if (last != null
            && System.nanoTime() - last.atNanos() < TimeUnit.MILLISECONDS.toNanos(STATISTICS_MAX_AGE_MILLIS)) {
            return last.statistics();
        }
        List<PgNotifyStatistics> statistics = run("measuring the channel",
                STATISTICS_TIMEOUT_MILLIS + 1000, (admin, connection) -> ReadTransaction.run(connection,
                        STATISTICS_TIMEOUT_MILLIS, admin::statistics));
        measured = new Measured(List.copyOf(statistics), System.nanoTime());
        return statistics;
    }

    /**
     * Delivers dead letters again: all of the channel's ({@code ids} null or empty) or those given; in mode=topic,
     * the group's ({@code group} null: the endpoint's, else every group's). Returns how many.
     */
    public int requeueDeadLetters(String group, List<Long> ids) throws SQLException {
        Long[] selected = ids == null || ids.isEmpty() ? null : ids.toArray(new Long[0]);
        int requeued = run("delivering dead letters again",
                (admin, connection) -> admin.requeueDeadLetters(connection, group, selected));
        measured = null;
        return requeued;
    }

    /** Deletes dead letters, as {@link #requeueDeadLetters} selects them. Returns how many. */
    public int purgeDeadLetters(String group, List<Long> ids) throws SQLException {
        Long[] selected = ids == null || ids.isEmpty() ? null : ids.toArray(new Long[0]);
        int purged = run("deleting dead letters", (admin, connection) -> admin.purgeDeadLetters(connection, group,
                selected));
        measured = null;
        return purged;
    }

    /**
     * How full the server's notification queue is, from 0 to 1: notifications not yet read by every listening
     * session (one that never reads holds it up); at 1, every NOTIFY fails.
     */
    public double notificationQueueUsage() throws SQLException {
        return withDatabase(database -> database.call(this, "reading the notification queue's usage",
                STATISTICS_TIMEOUT_MILLIS, connection -> {
                    try (PreparedStatement usage = connection.prepareStatement(ListenSql.NOTIFICATION_QUEUE_USAGE);
                         ResultSet rs = usage.executeQuery()) {
                        rs.next();
                        return rs.getDouble(1);
                    }
                }));
    }

    private <T> T run(String what, AdminWork<T> work) throws SQLException {
        return run(what, -1, work);
    }

    private <T> T run(String what, long timeoutMillis, AdminWork<T> work) throws SQLException {
        if (configuration.getMode() == PgNotifyMode.NOTIFY) {
            throw new UnsupportedOperationException(
                    "pgnotify:" + channel + " is mode=notify, which keeps no messages to measure or dead letters to"
                                                    + " deliver again");
        }
        return withDatabase(database -> {
            // the schema is resolved within the operation's own bound: a measurement answers (or gives up) in time
            // even while another application holds the schema lock
            long bound = timeoutMillis > 0 ? STATISTICS_TIMEOUT_MILLIS : database.statementTimeoutMillis();
            ChannelAdmin admin = admins.on(database, bound);
            Database.Work<T> call = connection -> work.apply(admin, connection);
            return timeoutMillis > 0
                    ? database.call(this, what, timeoutMillis, call)
                    : database.call(this, what, call);
        });
    }

    @FunctionalInterface
    private interface DatabaseWork<T> {
        T apply(Database database) throws SQLException;
    }

    /** Runs on the endpoint's database, acquired for the call and released after, whatever happens. */
    private <T> T withDatabase(DatabaseWork<T> work) throws SQLException {
        Database database = connections.acquireDatabase();
        try {
            return work.apply(database);
        } finally {
            connections.releaseDatabase();
        }
    }
}
