package dev.pgnotify.camel.queue;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyHeaderFilterStrategy;
import dev.pgnotify.camel.admin.ChannelAdmin;
import dev.pgnotify.camel.admin.Privileges.Kind;
import dev.pgnotify.camel.admin.Privileges;
import dev.pgnotify.camel.browse.ChannelBrowse;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.produce.MessageCodec;
import dev.pgnotify.camel.schema.SchemaCatalog;
import org.apache.camel.spi.HeaderFilterStrategy;

/**
 * What a producer or consumer in mode=queue works with, resolved once the database is reachable: the queue table
 * (in the connection's current schema when none was named), its statements, the sequence of its ids and the message
 * codec.
 */
public final class QueueResources {

    /** What a role does with a queue, and so which privileges it needs. */
    public enum Role {
        PRODUCER,
        CONSUMER
    }

    private final QueueTable table;
    private final QueueSql sql;
    private final QueueAdminSql adminSql;
    private final MessageCodec codec;
    private final String sequence;

    /** The schema lock is waited for this much less than the call's bound, so that the wait fails cleanly first. */
    private static final long SCHEMA_LOCK_MARGIN_MILLIS = 500;

    private QueueResources(QueueTable table, QueueSql sql, MessageCodec codec, String sequence) {
        this.table = table;
        this.sql = sql;
        this.adminSql = new QueueAdminSql(table);
        this.codec = codec;
        this.sequence = sequence;
    }

    /** The endpoint's queue resources: resolved on this database the first time, shared after. */
    public static QueueResources of(ChannelEndpoint endpoint, Database database, Object owner) throws SQLException {
        return of(endpoint, database, owner, database.statementTimeoutMillis());
    }

    /** As {@link #of(ChannelEndpoint, Database, Object)}, the first resolution within a bound of the caller's. */
    public static QueueResources of(ChannelEndpoint endpoint, Database database, Object owner, long timeoutMillis)
            throws SQLException {
        return endpoint.resources().get(QueueResources.class,
                () -> resolve(database, endpoint.getConfiguration(), owner, timeoutMillis));
    }

    /** Creates or verifies the queue's schema on this database, within the database's bounds. */
    public static QueueResources resolve(Database database, PgNotifyConfiguration configuration, Object owner)
            throws SQLException {
        return resolve(database, configuration, owner, database.statementTimeoutMillis());
    }

    /** As {@link #resolve(Database, PgNotifyConfiguration, Object)}, within a bound of the caller's. */
    public static QueueResources resolve(Database database, PgNotifyConfiguration configuration, Object owner,
                                     long timeoutMillis)
            throws SQLException {
        QueueTable unresolved = QueueTable.of(configuration.getTable(), configuration.getDeadLetterTable());
        return database.call(owner, "checking the queue schema", timeoutMillis, connection -> {
            QueueTable table;
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(SchemaCatalog.CURRENT_SCHEMA)) {
                rs.next();
                table = unresolved.inSchema(rs.getString(1));
            }
            QueueSchema.ensure(connection, table, configuration.isCreateSchema(),
                    Math.max(100, timeoutMillis - SCHEMA_LOCK_MARGIN_MILLIS));
            String sequence;
            try (PreparedStatement statement = connection.prepareStatement(SchemaCatalog.SERIAL_SEQUENCE)) {
                statement.setString(1, table.sql());
                statement.setString(2, "id");
                try (ResultSet rs = statement.executeQuery()) {
                    rs.next();
                    sequence = rs.getString(1);
                }
            }
            if (sequence == null) {
                throw new IllegalStateException("The queue table " + table.display() + " draws its ids from no"
                                                + " sequence: its id column must be an identity column");
            }
            HeaderFilterStrategy headerFilter = configuration.getHeaderFilterStrategy() != null
                    ? configuration.getHeaderFilterStrategy() : new PgNotifyHeaderFilterStrategy();
            return new QueueResources(table, new QueueSql(table),
                    new MessageCodec(configuration.isStoreJsonAsJsonb(), headerFilter), sequence);
        });
    }

    /**
     * Fails, naming the privilege, the object and the GRANT to run, when the connecting role lacks a privilege this
     * role of the queue needs: better at start than on the first message.
     */
    public void requirePrivileges(Database database, Object owner, Role role) throws SQLException {
        Privileges privileges = new Privileges()
                .need(Kind.SCHEMA, table.schema(), "USAGE", "to reach the tables");
        if (role == Role.PRODUCER) {
            privileges.need(Kind.TABLE, table.sql(), "INSERT", "to send messages")
                    .need(Kind.ID_COLUMN, table.sql(), "SELECT", "to read back the id of a sent message")
                    // the queue's deduplication trigger runs as the inserting role
                    .need(Kind.TABLE, table.deduplicationSql(), "SELECT",
                            "to check a message's deduplication id")
                    .need(Kind.TABLE, table.deduplicationSql(), "INSERT", "to take a message's deduplication id")
                    .need(Kind.TABLE, table.deduplicationSql(), "UPDATE",
                            "to take a deduplication id whose window is over");
        } else {
            privileges.need(Kind.TABLE, table.sql(), "SELECT", "to claim messages")
                    .need(Kind.TABLE, table.sql(), "UPDATE", "to lease, renew and retry messages")
                    .need(Kind.TABLE, table.sql(), "DELETE", "to acknowledge messages")
                    .need(Kind.TABLE, table.deadLetterSql(), "INSERT",
                            "to move messages that exhausted their attempts to the dead-letter table")
                    .need(Kind.TABLE, table.deadLetterSql(), "SELECT", "to find an earlier dead letter of the same message")
                    .need(Kind.TABLE, table.deadLetterSql(), "UPDATE",
                            "to replace an earlier dead letter of the same message")
                    .need(Kind.SEQUENCE, sequence, "SELECT, USAGE",
                            "to read the last id drawn, which keeps claims fast (see the documentation)")
                    // a message with a deduplication id starts its window when it is acknowledged (a trigger, run as
                    // the acknowledging role), and ids whose window is over are forgotten by the consumers: without
                    // these, acknowledging such a message would fail again and again
                    .need(Kind.TABLE, table.deduplicationSql(), "SELECT", "to find a deduplication id")
                    .need(Kind.TABLE, table.deduplicationSql(), "UPDATE",
                            "to start a deduplication id's window when its message is acknowledged")
                    .need(Kind.TABLE, table.deduplicationSql(), "DELETE",
                            "to forget deduplication ids whose window is over");
        }
        privileges.require(database, owner, "a queue " + role.name().toLowerCase() + " of " + table.display());
    }

    QueueTable table() {
        return table;
    }

    QueueSql sql() {
        return sql;
    }

    MessageCodec codec() {
        return codec;
    }

    /** The sequence of the table's ids, as pg_get_serial_sequence names it (quoted where needed). */
    String sequence() {
        return sequence;
    }

    /** What operators do with a channel: its figures, its dead letters. */
    public ChannelAdmin admin(String channel) {
        return new QueueAdmin(adminSql, channel);
    }

    /** What Camel's browsing tools show of a channel: its waiting messages, its dead letters. */
    public ChannelBrowse browse(String channel) {
        return new QueueBrowse(this, channel);
    }
}
