package dev.pgnotify.camel.topic;

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
 * What a producer or consumer in mode=topic works with, resolved once the database is reachable: the topic's tables
 * (in the connection's current schema when none was named), its statements, the sequence of its items' ids and the
 * message codec.
 */
public final class TopicResources {

    private final TopicTable table;
    private final TopicSql sql;
    private final MessageCodec codec;
    private final String itemSequence;

    /** The schema lock is waited for this much less than the call's bound, so that the wait fails cleanly first. */
    private static final long SCHEMA_LOCK_MARGIN_MILLIS = 500;

    private TopicResources(TopicTable table, TopicSql sql, MessageCodec codec, String itemSequence) {
        this.table = table;
        this.sql = sql;
        this.codec = codec;
        this.itemSequence = itemSequence;
    }

    /** The endpoint's topic resources: resolved on this database the first time, shared after. */
    public static TopicResources of(ChannelEndpoint endpoint, Database database, Object owner) throws SQLException {
        return of(endpoint, database, owner, database.statementTimeoutMillis());
    }

    /** As {@link #of(ChannelEndpoint, Database, Object)}, the first resolution within a bound of the caller's. */
    public static TopicResources of(ChannelEndpoint endpoint, Database database, Object owner, long timeoutMillis)
            throws SQLException {
        return endpoint.resources().get(TopicResources.class,
                () -> resolve(database, endpoint.getConfiguration(), owner, timeoutMillis));
    }

    /** Creates or verifies the topic's schema on this database, within the database's bounds. */
    public static TopicResources resolve(Database database, PgNotifyConfiguration configuration, Object owner)
            throws SQLException {
        return resolve(database, configuration, owner, database.statementTimeoutMillis());
    }

    /** As {@link #resolve(Database, PgNotifyConfiguration, Object)}, within a bound of the caller's. */
    public static TopicResources resolve(Database database, PgNotifyConfiguration configuration, Object owner,
                                     long timeoutMillis)
            throws SQLException {
        TopicTable unresolved = TopicTable.of(configuration.getTopicTable());
        return database.call(owner, "checking the topic schema", timeoutMillis, connection -> {
            TopicTable table;
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(SchemaCatalog.CURRENT_SCHEMA)) {
                rs.next();
                table = unresolved.inSchema(rs.getString(1));
            }
            TopicSchema.ensure(connection, table, configuration.isCreateSchema(),
                    Math.max(100, timeoutMillis - SCHEMA_LOCK_MARGIN_MILLIS));
            String sequence;
            try (PreparedStatement statement = connection.prepareStatement(SchemaCatalog.SERIAL_SEQUENCE)) {
                statement.setString(1, table.itemsSql());
                statement.setString(2, "id");
                try (ResultSet rs = statement.executeQuery()) {
                    rs.next();
                    sequence = rs.getString(1);
                }
            }
            HeaderFilterStrategy headerFilter = configuration.getHeaderFilterStrategy() != null
                    ? configuration.getHeaderFilterStrategy() : new PgNotifyHeaderFilterStrategy();
            return new TopicResources(table, new TopicSql(table),
                    new MessageCodec(configuration.isStoreJsonAsJsonb(), headerFilter), sequence);
        });
    }

    /** What a role does with a topic, and so which privileges it needs. */
    public enum Role {
        PRODUCER,
        CONSUMER
    }

    /**
     * Fails, naming the privilege, the object and the GRANT to run, when the connecting role lacks a privilege this
     * role of the topic needs.
     */
    public void requirePrivileges(Database database, Object owner, Role role) throws SQLException {
        Privileges privileges = new Privileges()
                .need(Kind.SCHEMA, table.schema(), "USAGE", "to reach the tables");
        if (role == Role.PRODUCER) {
            privileges.need(Kind.TABLE, table.sql(), "INSERT", "to publish messages")
                    .need(Kind.ID_COLUMN, table.sql(), "SELECT", "to read back the id of a published message")
                    .need(Kind.SEQUENCE, table.idSequenceSql(), "USAGE", "to draw the ids of published messages")
                    .need(Kind.TABLE, table.stateSql(), "SELECT", "to find the partition that receives new messages");
        } else {
            privileges.need(Kind.TABLE, table.sql(), "SELECT", "to read the log")
                    .need(Kind.FUNCTION, table.loadFunctionSql() + "(bigint[], bigint, boolean)", "EXECUTE",
                            "to read messages from the log")
                    .need(Kind.TABLE, table.groupsSql(), "SELECT", "to find the group")
                    .need(Kind.TABLE, table.groupsSql(), "INSERT", "to register the group")
                    .need(Kind.TABLE, table.groupsSql(), "UPDATE", "to record that the group is alive")
                    .need(Kind.TABLE, table.cutsSql(), "SELECT", "to find where the group has read up to")
                    .need(Kind.TABLE, table.cutsSql(), "INSERT", "to record where the group has read up to")
                    .need(Kind.TABLE, table.cutsSql(), "DELETE", "to forget where the group had read up to before")
                    .need(Kind.TABLE, table.itemsSql(), "SELECT", "to claim the group's work")
                    .need(Kind.TABLE, table.itemsSql(), "INSERT", "to cut the log into the group's work")
                    .need(Kind.TABLE, table.itemsSql(), "UPDATE", "to lease, renew and retry the group's work")
                    .need(Kind.TABLE, table.itemsSql(), "DELETE", "to acknowledge the group's work")
                    .need(Kind.SEQUENCE, itemSequence, "SELECT, USAGE",
                            "to read the last id drawn, which keeps claims fast")
                    .need(Kind.TABLE, table.deadLetterSql(), "INSERT",
                            "to move messages that exhausted their attempts to the dead-letter table")
                    .need(Kind.TABLE, table.deadLetterSql(), "SELECT", "to find an earlier dead letter of the message")
                    .need(Kind.TABLE, table.deadLetterSql(), "UPDATE", "to replace an earlier dead letter")
                    .need(Kind.FUNCTION, table.maintainFunctionSql() + "(interval, interval, interval)", "EXECUTE",
                            "to empty the partitions of the log that no group needs any more");
        }
        privileges.require(database, owner, "a topic " + role.name().toLowerCase() + " of " + table.display());
    }

    TopicTable table() {
        return table;
    }

    TopicSql sql() {
        return sql;
    }

    MessageCodec codec() {
        return codec;
    }

    String itemSequence() {
        return itemSequence;
    }

    /** What operators do with a channel (the group's, when given; otherwise every group's): its figures, its dead letters. */
    public ChannelAdmin admin(String channel, String group) {
        return new TopicAdmin(this, channel, group);
    }

    /** What Camel's browsing tools show of a channel: what the group has not processed, its dead letters. */
    public ChannelBrowse browse(String channel, String group) {
        return new TopicBrowse(this, channel, group);
    }
}
