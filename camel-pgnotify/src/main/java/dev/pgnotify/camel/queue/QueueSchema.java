package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.support.SupportSql;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or verifies the tables, index and trigger of a queue, in one transaction under an advisory lock so that
 * applications starting at the same time create them once. A table of the same name but another shape is never
 * changed.
 */
public final class QueueSchema {

    /** The columns a queue table must have, with their types as format_type writes them. */
    static final Map<String, String> QUEUE_COLUMNS = columns(
            "id", "bigint",
            "channel", "text",
            "body_json", "jsonb",
            "body_text", "text",
            "body_bytes", "bytea",
            "headers", "jsonb",
            "created_at", "timestamp with time zone",
            "attempts", "integer",
            "available_at", "timestamp with time zone",
            "last_error", "text");

    static final Map<String, String> DEAD_LETTER_COLUMNS = columns(
            "id", "bigint",
            "channel", "text",
            "body_json", "jsonb",
            "body_text", "text",
            "body_bytes", "bytea",
            "headers", "jsonb",
            "created_at", "timestamp with time zone",
            "attempts", "integer",
            "last_error", "text",
            "failed_at", "timestamp with time zone");

    /** Where function bodies are dollar-quoted: see {@link PgIdentifiers#dollarQuoted}. */
    private static final String Q = PgIdentifiers.BODY_QUOTE;

    private static final Logger LOG = LoggerFactory.getLogger(QueueSchema.class);

    private QueueSchema() {
    }

    /**
     * One object of a queue's schema: how to see that it exists, and how to create it. A migration brings a table of
     * an earlier version up to date; a new table has it already, so the documentation leaves it out.
     */
    private record SchemaObject(String description, SqlCheck exists, String ddl, boolean migration) {

        SchemaObject {
            ddl = PgIdentifiers.dollarQuoted(ddl);
        }

        SchemaObject(String description, SqlCheck exists, String ddl) {
            this(description, exists, ddl, false);
        }
    }

    @FunctionalInterface
    private interface SqlCheck {
        boolean test(Connection connection) throws SQLException;
    }

    /**
     * Makes sure the queue's objects exist with the expected shape: creates what is missing when {@code create} is
     * true, otherwise fails naming it. Commits only when everything is in place. Objects a queue of an earlier version
     * lacks (such as the {@code _xid} trigger) are added in place, online: creating a trigger takes a brief lock and
     * rewrites nothing, so queued messages stay and consumers of the earlier version keep working.
     *
     * @param lockTimeoutMillis how long to wait for a lock another session holds on the tables
     */
    static void ensure(Connection connection, QueueTable table, boolean create, long lockTimeoutMillis)
            throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try {
            // the bound first: it applies to the schema lock too, which another application's start may hold
            try (PreparedStatement lockTimeout = connection.prepareStatement(SupportSql.SET_LOCAL_LOCK_TIMEOUT)) {
                lockTimeout.setString(1, Long.toString(lockTimeoutMillis));
                lockTimeout.execute();
            }
            try (PreparedStatement lock = connection.prepareStatement(SupportSql.LOCK_SCHEMA_CHANGES)) {
                lock.setString(1, table.display());
                lock.execute();
            }
            List<SchemaObject> missing = new ArrayList<>();
            for (SchemaObject object : objects(table)) {
                if (!object.exists().test(connection)) {
                    missing.add(object);
                }
            }
            if (missing.isEmpty()) {
                connection.commit();
                return;
            }
            String names = String.join(", ", missing.stream().map(SchemaObject::description).toList());
            if (!create) {
                throw new IllegalStateException("The queue schema of " + table.display() + " is incomplete and"
                                                + " createSchema=false: missing " + names + ". Create them as the"
                                                + " installing role (the component documentation shows the SQL) or"
                                                + " set createSchema=true.");
            }
            try (Statement statement = connection.createStatement()) {
                for (SchemaObject object : missing) {
                    statement.execute(object.ddl());
                }
            } catch (SQLException e) {
                throw new SQLException("Cannot create " + names + " for the queue table " + table.display() + ": "
                                       + e.getMessage() + ". Create them as a role that may (the component"
                                       + " documentation shows the SQL), then start with createSchema=false.",
                        e.getSQLState(), e);
            }
            connection.commit();
            LOG.info("Created {} for the queue table {}", names, table.display());
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(autoCommit);
        }
    }

    /** Every statement that creates a queue from nothing, as the documentation shows it. */
    public static List<String> ddl(QueueTable table) {
        return objects(table).stream().filter(object -> !object.migration()).map(SchemaObject::ddl).toList();
    }

    /** The objects of a queue, in the order they are created. */
    private static List<SchemaObject> objects(QueueTable table) {
        String t = table.sql();
        List<SchemaObject> objects = new ArrayList<>();
        objects.add(new SchemaObject("table " + table.display(),
                connection -> tableExists(connection, t)
                        && requireShape(connection, t, table.display(), QUEUE_COLUMNS,
                                " It may be another application's table (the LISTEN/NOTIFY tutorial's is also called"
                                                                                       + " message_queue): choose"
                                                                                       + " another name with the"
                                                                                       + " option table."),
                "CREATE TABLE " + t + " (\n"
                    + "    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
                    + "    channel      text        NOT NULL,\n"
                    + "    body_json    jsonb,\n"
                    + "    body_text    text,\n"
                    + "    body_bytes   bytea,\n"
                    + "    headers      jsonb       NOT NULL DEFAULT '{}',\n"
                    + "    created_at   timestamptz NOT NULL DEFAULT now(),\n"
                    + "    attempts     integer     NOT NULL DEFAULT 0,\n"
                    + "    available_at timestamptz NOT NULL DEFAULT now(),\n"
                    + "    last_error   text,\n"
                    + "    message_key  text,\n"
                    + "    expires_at   timestamptz,\n"
                    + "    dedup_id     text,\n"
                    + "    priority     integer     NOT NULL DEFAULT 0 CHECK (priority >= 0),\n"
                    + "    CHECK (num_nonnulls(body_json, body_text, body_bytes) <= 1)\n"
                    // half of each page stays free: a claim rewrites its row, and on the same page that is a HOT
                    // update (no index entry); measured: claims of a 200,000 backlog ran 2.4 times faster than at
                    // fillfactor 90
                    + ") WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01,"
                    + " autovacuum_vacuum_insert_scale_factor = 0.01)"));
        // a queue of an earlier version gains the columns in place: adding a nullable column rewrites nothing
        // (a column with a constant default rewrites nothing either; its CHECK reads the table once, under the
        // schema transaction's lock_timeout)
        objects.add(new SchemaObject("columns message_key, expires_at, dedup_id, priority of " + table.display(),
                connection -> hasColumns(connection, t, "message_key", "expires_at", "dedup_id", "priority"),
                "ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS message_key text,"
                    + " ADD COLUMN IF NOT EXISTS expires_at timestamptz, ADD COLUMN IF NOT EXISTS dedup_id text,"
                    + " ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0 CHECK (priority >= 0)", true));
        // per-key order: a keyed message waits while an earlier one of its key exists (see QueueSql); only keyed
        // messages are in it, so an unkeyed stream pays nothing for it
        objects.add(new SchemaObject("index " + table.schema() + "." + table.keyIndexName(),
                connection -> exists(connection, SupportSql.TABLE_EXISTS,
                        PgIdentifiers.quote(table.schema()) + "." + PgIdentifiers.quote(table.keyIndexName())),
                "CREATE INDEX " + PgIdentifiers.quote(table.keyIndexName()) + " ON " + t
                    + " (channel, message_key, id) WHERE message_key IS NOT NULL"));
        // priority: claims take the due messages of the highest priority first from it; only prioritized messages
        // are in it, so a stream without priorities pays nothing for it
        objects.add(new SchemaObject("index " + table.schema() + "." + table.priorityIndexName(),
                connection -> exists(connection, SupportSql.TABLE_EXISTS,
                        PgIdentifiers.quote(table.schema()) + "." + PgIdentifiers.quote(table.priorityIndexName())),
                "CREATE INDEX " + PgIdentifiers.quote(table.priorityIndexName()) + " ON " + t
                    + " (channel, priority DESC, id) WHERE priority > 0"));
        // claims walk a channel in id order from their frontier; available_at stays out of the index so that claims
        // are HOT updates. Partial on a predicate that every row meets: only statements that name the channel may use
        // it, so that look-ups by id always go to the primary key (see QueueSql)
        objects.add(new SchemaObject("index " + table.schema() + "." + table.claimIndexName(),
                connection -> claimIndexIsCurrent(connection, table),
                "CREATE INDEX " + PgIdentifiers.quote(table.claimIndexName()) + " ON " + t
                    + " (channel, id) WHERE channel IS NOT NULL"));
        objects.add(new SchemaObject("dead-letter table " + table.deadLetterDisplay(),
                connection -> tableExists(connection, table.deadLetterSql())
                        && requireShape(connection, table.deadLetterSql(), table.deadLetterDisplay(),
                                DEAD_LETTER_COLUMNS, " Choose another name with the option deadLetterTable."),
                "CREATE TABLE " + table.deadLetterSql() + " (\n"
                    + "    id         bigint      PRIMARY KEY,\n"
                    + "    channel    text        NOT NULL,\n"
                    + "    body_json  jsonb,\n"
                    + "    body_text  text,\n"
                    + "    body_bytes bytea,\n"
                    + "    headers    jsonb       NOT NULL,\n"
                    + "    created_at timestamptz NOT NULL,\n"
                    + "    attempts   integer     NOT NULL,\n"
                    + "    last_error text,\n"
                    + "    failed_at  timestamptz NOT NULL DEFAULT now(),\n"
                    + "    message_key text,\n"
                    + "    priority   integer     NOT NULL DEFAULT 0\n"
                    + ")"));
        objects.add(new SchemaObject("columns message_key, priority of " + table.deadLetterDisplay(),
                connection -> hasColumns(connection, table.deadLetterSql(), "message_key", "priority"),
                "ALTER TABLE " + table.deadLetterSql() + " ADD COLUMN IF NOT EXISTS message_key text,"
                    + " ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0", true));
        // deduplication: a message with a deduplication id is enqueued only while the id is free; the id stays taken
        // while its message exists and for its window after. The table is the one arbiter of concurrent producers
        // and of the message's end (its row is locked by either), and the triggers serve SQL publishers alike
        String dedup = table.deduplicationSql();
        objects.add(new SchemaObject("table " + table.deduplicationDisplay(),
                connection -> tableExists(connection, dedup),
                "CREATE TABLE " + dedup + " (\n"
                    + "    channel   text        NOT NULL,\n"
                    + "    dedup_id  text        NOT NULL,\n"
                    + "    until     timestamptz NOT NULL,\n"
                    + "    window_ms bigint      NOT NULL DEFAULT 0,\n"
                    + "    PRIMARY KEY (channel, dedup_id)\n"
                    + ")"));
        // times are the clock's, not the transaction's start: a producer whose transaction began before the previous
        // message of the same id was acknowledged must see its window as it stands when it inserts. A function of an
        // earlier version (comparing with now()) is replaced in place
        objects.add(new SchemaObject("function " + table.schema() + "." + table.deduplicationTriggerName() + "()",
                connection -> exists(connection, SupportSql.FUNCTION_CONTAINS, table.deduplicationFunctionSql() + "()",
                        "clock_timestamp"),
                "CREATE OR REPLACE FUNCTION " + table.deduplicationFunctionSql() + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    INSERT INTO " + dedup + " AS d (channel, dedup_id, until, window_ms)\n"
                    + "    VALUES (NEW.channel, NEW.dedup_id, 'infinity', coalesce(nullif(current_setting('"
                    + SupportSql.DEDUPLICATION_WINDOW_SETTING + "', true), '')::bigint, 0))\n"
                    + "    ON CONFLICT (channel, dedup_id) DO UPDATE SET until = 'infinity', window_ms = excluded.window_ms\n"
                    + "    WHERE d.until < clock_timestamp();\n"
                    + "    IF NOT FOUND THEN\n"
                    + "        RETURN NULL;\n"
                    + "    END IF;\n"
                    + "    RETURN NEW;\n"
                    + "END " + Q));
        objects.add(new SchemaObject("trigger " + table.deduplicationTriggerName() + " on " + table.display(),
                connection -> exists(connection, SupportSql.TRIGGER_EXISTS, t, table.deduplicationTriggerName()),
                "CREATE TRIGGER " + PgIdentifiers.quote(table.deduplicationTriggerName()) + " BEFORE INSERT ON " + t
                    + " FOR EACH ROW WHEN (NEW.dedup_id IS NOT NULL) EXECUTE FUNCTION "
                    + table.deduplicationFunctionSql() + "()"));
        objects.add(new SchemaObject("function " + table.schema() + "." + table.deduplicationDoneTriggerName() + "()",
                connection -> exists(connection, SupportSql.FUNCTION_CONTAINS,
                        table.deduplicationDoneFunctionSql() + "()", "clock_timestamp"),
                "CREATE OR REPLACE FUNCTION " + table.deduplicationDoneFunctionSql() + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    UPDATE " + dedup + " SET until = clock_timestamp() + window_ms * interval '1 millisecond'\n"
                    + "    WHERE channel = OLD.channel AND dedup_id = OLD.dedup_id;\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q));
        objects.add(new SchemaObject("trigger " + table.deduplicationDoneTriggerName() + " on " + table.display(),
                connection -> exists(connection, SupportSql.TRIGGER_EXISTS, t, table.deduplicationDoneTriggerName()),
                "CREATE TRIGGER " + PgIdentifiers.quote(table.deduplicationDoneTriggerName()) + " AFTER DELETE ON "
                    + t + " FOR EACH ROW WHEN (OLD.dedup_id IS NOT NULL) EXECUTE FUNCTION "
                    + table.deduplicationDoneFunctionSql() + "()"));
        // one wake-up per channel and statement, none at all for pgnotify's own producers (they wake after commit).
        // When every row of a channel is delayed, the payload says in how many milliseconds the first falls due
        // (after the channel and an origin of "-"), so that consumers wake then rather than at their next poll. An
        // earlier version's function (without delays) is replaced in place
        objects.add(new SchemaObject("function " + table.schema() + "." + table.wakeUpTriggerName() + "()",
                connection -> exists(connection, SupportSql.FUNCTION_CONTAINS, table.wakeUpFunctionSql() + "()",
                        "available_at"),
                "CREATE OR REPLACE FUNCTION " + table.wakeUpFunctionSql() + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    IF current_setting('" + SupportSql.WAKE_UP_SETTING + "', true) IS DISTINCT FROM '"
                    + SupportSql.WAKE_UP_DEFERRED + "' THEN\n"
                    + "        PERFORM pg_notify(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, c.channel\n"
                    + "            || CASE WHEN c.due > now() THEN ' - '\n"
                    + "                    || ceil(extract(epoch FROM c.due - now()) * 1000)::bigint ELSE '' END)\n"
                    + "        FROM (SELECT channel, min(available_at) AS due FROM inserted GROUP BY channel) AS c;\n"
                    + "    END IF;\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q));
        objects.add(new SchemaObject("trigger " + table.wakeUpTriggerName() + " on " + table.display(),
                connection -> exists(connection, SupportSql.TRIGGER_EXISTS, t, table.wakeUpTriggerName()),
                "CREATE TRIGGER " + PgIdentifiers.quote(table.wakeUpTriggerName()) + " AFTER INSERT ON " + t
                    + " REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "
                    + table.wakeUpFunctionSql() + "()"));
        // the inserting transaction gets its id before its rows draw theirs, so that a consumer can tell from a
        // snapshot which ids are settled and need not scan below them again (see ClaimCursor)
        objects.add(new SchemaObject("function " + table.schema() + "." + table.xidTriggerName() + "()",
                connection -> exists(connection, SupportSql.FUNCTION_EXISTS, table.xidFunctionSql() + "()"),
                "CREATE FUNCTION " + table.xidFunctionSql() + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    PERFORM pg_current_xact_id();\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q));
        objects.add(new SchemaObject("trigger " + table.xidTriggerName() + " on " + table.display(),
                connection -> exists(connection, SupportSql.TRIGGER_EXISTS, t, table.xidTriggerName()),
                "CREATE TRIGGER " + PgIdentifiers.quote(table.xidTriggerName()) + " BEFORE INSERT ON " + t
                    + " FOR EACH STATEMENT EXECUTE FUNCTION " + table.xidFunctionSql() + "()"));
        return objects;
    }

    /** Returns true when the table has the expected columns; fails, naming the differences, when it has not. */
    private static boolean requireShape(
            Connection connection, String quotedName, String displayName, Map<String, String> expected, String hint)
            throws SQLException {
        Map<String, String> actual = columnsOf(connection, quotedName);
        List<String> problems = new ArrayList<>();
        List<String> missingColumns = new ArrayList<>();
        expected.forEach((column, type) -> {
            String actualType = actual.get(column);
            if (actualType == null) {
                missingColumns.add(column + " " + type);
            } else if (!actualType.equals(type)) {
                problems.add("column " + column + " is " + actualType + ", not " + type);
            }
        });
        if (!missingColumns.isEmpty()) {
            problems.add("missing columns " + String.join(", ", missingColumns));
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException("The table " + displayName + " exists but is not a pgnotify queue table: "
                                            + String.join("; ", problems) + ". Nothing was changed." + hint);
        }
        return true;
    }

    /**
     * Whether the claim index exists in its current shape. One of an earlier version (not partial) is dropped here, in
     * the schema transaction, so that the current one is built in its place: building it blocks writes to the queue
     * for its duration (milliseconds for a queue of thousands of waiting messages).
     */
    private static boolean claimIndexIsCurrent(Connection connection, QueueTable table) throws SQLException {
        String index = PgIdentifiers.quote(table.schema()) + "." + PgIdentifiers.quote(table.claimIndexName());
        Boolean partial;
        try (PreparedStatement statement = connection.prepareStatement(SupportSql.INDEX_IS_PARTIAL)) {
            statement.setString(1, index);
            try (ResultSet rs = statement.executeQuery()) {
                partial = rs.next() ? rs.getBoolean(1) : null;
            }
        }
        if (partial == null) {
            return false;
        }
        if (!partial) {
            try (Statement statement = connection.createStatement()) {
                statement.execute("DROP INDEX " + index);
            }
            LOG.info("Replacing the claim index {} of an earlier version", index);
            return false;
        }
        return true;
    }

    /** Whether the table has these columns; a table still to be created will have them. */
    private static boolean hasColumns(Connection connection, String quotedName, String... columns) throws SQLException {
        return !tableExists(connection, quotedName)
               || columnsOf(connection, quotedName).keySet().containsAll(List.of(columns));
    }

    /** A table's columns and their types, as format_type writes them. */
    private static Map<String, String> columnsOf(Connection connection, String quotedName) throws SQLException {
        Map<String, String> columns = new LinkedHashMap<>();
        try (PreparedStatement statement = connection.prepareStatement(SupportSql.TABLE_COLUMNS)) {
            statement.setString(1, quotedName);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return columns;
    }

    private static boolean tableExists(Connection connection, String quotedName) throws SQLException {
        return exists(connection, SupportSql.TABLE_EXISTS, quotedName);
    }

    private static boolean exists(Connection connection, String sql, String... parameters) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setString(i + 1, parameters[i]);
            }
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private static Map<String, String> columns(String... nameAndType) {
        Map<String, String> columns = new LinkedHashMap<>();
        for (int i = 0; i < nameAndType.length; i += 2) {
            columns.put(nameAndType[i], nameAndType[i + 1]);
        }
        return columns;
    }
}
