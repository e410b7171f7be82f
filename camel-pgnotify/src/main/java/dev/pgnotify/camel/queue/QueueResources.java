package dev.pgnotify.camel.queue;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyHeaderFilterStrategy;
import dev.pgnotify.camel.support.Database;
import dev.pgnotify.camel.support.MessageCodec;
import dev.pgnotify.camel.support.SupportSql;
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
    private final MessageCodec codec;
    private final String sequence;

    private QueueResources(QueueTable table, QueueSql sql, MessageCodec codec, String sequence) {
        this.table = table;
        this.sql = sql;
        this.codec = codec;
        this.sequence = sequence;
    }

    /** Creates or verifies the queue's schema on this database, within the database's bounds. */
    public static QueueResources resolve(Database database, PgNotifyConfiguration configuration, Object owner)
            throws SQLException {
        QueueTable unresolved = QueueTable.of(configuration.getTable(), configuration.getDeadLetterTable());
        return database.call(owner, "checking the queue schema", connection -> {
            QueueTable table;
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(SupportSql.CURRENT_SCHEMA)) {
                rs.next();
                table = unresolved.inSchema(rs.getString(1));
            }
            QueueSchema.ensure(connection, table, configuration.isCreateSchema(), database.statementTimeoutMillis());
            String sequence;
            try (PreparedStatement statement = connection.prepareStatement(SupportSql.SERIAL_SEQUENCE)) {
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
        Map<String, String[]> needed = new LinkedHashMap<>();
        // kind, object, privilege(s) (any of them), why
        needed.put("schema " + table.schema(), new String[] { "schema", table.schema(), "USAGE", "to reach the tables" });
        if (role == Role.PRODUCER) {
            needed.put("INSERT " + table.display(), new String[] { "table", table.sql(), "INSERT", "to send messages" });
            needed.put("SELECT (id) " + table.display(),
                    new String[] { "column", table.sql(), "SELECT", "to read back the id of a sent message" });
        } else {
            needed.put("SELECT " + table.display(), new String[] { "table", table.sql(), "SELECT", "to claim messages" });
            needed.put("UPDATE " + table.display(),
                    new String[] { "table", table.sql(), "UPDATE", "to lease, renew and retry messages" });
            needed.put("DELETE " + table.display(),
                    new String[] { "table", table.sql(), "DELETE", "to acknowledge messages" });
            needed.put("INSERT " + table.deadLetterDisplay(), new String[] { "table", table.deadLetterSql(), "INSERT",
                    "to move messages that exhausted their attempts to the dead-letter table" });
            needed.put("SELECT " + table.deadLetterDisplay(), new String[] { "table", table.deadLetterSql(), "SELECT",
                    "to find an earlier dead letter of the same message" });
            needed.put("UPDATE " + table.deadLetterDisplay(), new String[] { "table", table.deadLetterSql(), "UPDATE",
                    "to replace an earlier dead letter of the same message" });
            needed.put("SELECT " + sequence, new String[] { "sequence", sequence, "SELECT, USAGE",
                    "to read the last id drawn, which keeps claims fast (see the documentation)" });
        }
        List<String[]> checks = new ArrayList<>(needed.values());
        database.call(owner, "checking privileges", connection -> {
            String roleName;
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(SupportSql.CURRENT_USER)) {
                rs.next();
                roleName = rs.getString(1);
            }
            String user = PgIdentifiers.quote(roleName);
            List<String> missing = new ArrayList<>();
            List<String> grants = new ArrayList<>();
            try (PreparedStatement statement = connection.prepareStatement(SupportSql.MISSING_PRIVILEGES)) {
                statement.setArray(1, connection.createArrayOf("text", checks.stream().map(c -> c[0]).toArray()));
                statement.setArray(2, connection.createArrayOf("text", checks.stream().map(c -> c[1]).toArray()));
                statement.setArray(3, connection.createArrayOf("text", checks.stream().map(c -> c[2]).toArray()));
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        int i = rs.getInt(1) - 1;
                        String[] check = checks.get(i);
                        String object = check[0].equals("column") ? check[1] + " (id)" : check[1];
                        String privilege = check[2].split(",")[0];
                        missing.add(privilege + " on " + check[0] + " " + object + " (" + check[3] + ")");
                        grants.add(check[0].equals("schema")
                                ? "GRANT USAGE ON SCHEMA " + PgIdentifiers.quote(object) + " TO " + user
                                : check[0].equals("column")
                                        ? "GRANT SELECT (id) ON " + check[1] + " TO " + user
                                : "GRANT " + privilege + " ON " + (check[0].equals("sequence") ? "SEQUENCE " : "")
                                  + object + " TO " + user);
                    }
                }
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("The role '" + roleName + "' lacks " + String.join(", ", missing)
                                                + ", which a queue " + role.name().toLowerCase() + " of "
                                                + table.display() + " needs. Grant "
                                                + (missing.size() == 1 ? "it" : "them") + " as the installing role: "
                                                + String.join("; ", grants) + ";");
            }
            return null;
        });
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
}
