package dev.pgnotify.camel.topic;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.produce.ProducerSettings;
import dev.pgnotify.camel.schema.SchemaCatalog;
import dev.pgnotify.camel.schema.SchemaInstaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or verifies the objects of a topic, in one transaction under an advisory lock, so that applications starting
 * at the same time create them once.
 * <p>
 * The design, in short: the log is insert-only and partitioned into {@value TopicTable#SLOTS} slots that are emptied
 * whole (TRUNCATE), never row by row. Each row carries the id of the transaction that inserted it; a group reads the
 * log in <em>cuts</em>: the rows whose transactions became visible between its previous snapshot and a new one (as
 * PgQ does, without a ticker: the consumer takes the snapshot). A cut is split into items of up to a batch of message
 * ids, which the group's consumers lease, process and acknowledge like queue messages; a message that fails leaves
 * its batch as an item of its own, retried with backoff and dead-lettered after maxAttempts.
 */
public final class TopicSchema {

    /** Where function bodies are dollar-quoted: see {@link PgIdentifiers#dollarQuoted}. */
    private static final String Q = PgIdentifiers.BODY_QUOTE;

    private static final Logger LOG = LoggerFactory.getLogger(TopicSchema.class);

    private TopicSchema() {
    }

    /**
     * Makes sure the topic's objects exist: creates what is missing when {@code create} is true, otherwise fails naming
     * it. Commits only when everything is in place.
     */
    static void ensure(Connection connection, TopicTable table, boolean create, long lockTimeoutMillis)
            throws SQLException {
        SchemaInstaller.ensure(connection, new SchemaInstaller.Target("topic", "the topic", table.display()),
                objects(table), c -> requireLogShape(c, table), create, lockTimeoutMillis);
    }

    /**
     * An existing table of the log's name must be a topic's log: a queue table or an application's table of that name
     * is reported instead of being used.
     */
    private static void requireLogShape(Connection connection, TopicTable table) throws SQLException {
        if (!SchemaInstaller.tableExists(connection, table.sql())) {
            return;
        }
        Map<String, String> columns = SchemaInstaller.columnsOf(connection, table.sql());
        if (!"xid8".equals(columns.get("xid")) || !"smallint".equals(columns.get("slot"))) {
            throw new IllegalStateException("The table " + table.display() + " exists but is not a pgnotify topic log"
                                            + " (it has no xid8 column xid and smallint column slot): choose another"
                                            + " topicTable");
        }
    }

    /** Every statement that creates a topic from nothing, as the documentation shows it. */
    public static List<String> ddl(TopicTable table) {
        return SchemaInstaller.ddl(objects(table));
    }

    private static List<SchemaInstaller.SchemaObject> objects(TopicTable table) {
        String log = table.sql();
        String state = table.stateSql();
        String cut = table.cutFunctionSql() + "(text, text, integer, integer)";
        String load = table.loadFunctionSql() + "(bigint[], bigint, boolean)";
        String maintain = table.maintainFunctionSql() + "(interval, interval, interval)";
        List<SchemaInstaller.SchemaObject> objects = new ArrayList<>();
        // which slot receives new messages; rotation moves it on, once the next slot has been emptied
        objects.add(new SchemaInstaller.SchemaObject("table " + table.display() + "_state",
                connection -> SchemaInstaller.tableExists(connection, state),
                "CREATE TABLE " + state + " (\n"
                    + "    id         integer     PRIMARY KEY CHECK (id = 1),\n"
                    + "    slot       smallint    NOT NULL,\n"
                    + "    slot_since timestamptz NOT NULL\n"
                    + ");\n"
                    + "INSERT INTO " + state + " VALUES (1, 0, now())"));
        objects.add(new SchemaInstaller.SchemaObject("function " + table.schema() + "." + table.companionName("_slot") + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_EXISTS, table.slotFunctionSql() + "()"),
                // PL/pgSQL keeps its plan for the session; a SQL function here would plan its query on every insert
                "CREATE FUNCTION " + table.slotFunctionSql() + "() RETURNS smallint LANGUAGE plpgsql STABLE AS"
                    + " 'BEGIN RETURN (SELECT slot FROM " + state.replace("'", "''") + " WHERE id = 1); END'"));
        objects.add(new SchemaInstaller.SchemaObject("sequence " + table.schema() + "." + table.companionName("_id_seq"),
                connection -> SchemaInstaller.tableExists(connection, table.idSequenceSql()),
                "CREATE SEQUENCE " + table.idSequenceSql()));
        // insert-only: a row is never updated nor deleted, only its slot is emptied whole
        objects.add(new SchemaInstaller.SchemaObject("table " + table.display(),
                connection -> SchemaInstaller.tableExists(connection, log),
                "CREATE TABLE " + log + " (\n"
                    + "    id         bigint      NOT NULL DEFAULT nextval('" + table.idSequenceSql().replace("'", "''")
                    + "'),\n"
                    + "    channel    text        NOT NULL,\n"
                    + "    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),\n"
                    + "    slot       smallint    NOT NULL DEFAULT " + table.slotFunctionSql() + "(),\n"
                    + "    body_json  jsonb,\n"
                    + "    body_text  text,\n"
                    + "    body_bytes bytea,\n"
                    + "    headers    jsonb       NOT NULL DEFAULT '{}',\n"
                    + "    created_at timestamptz NOT NULL DEFAULT now(),\n"
                    + "    message_key text,\n"
                    + "    CHECK (num_nonnulls(body_json, body_text, body_bytes) <= 1)\n"
                    + ") PARTITION BY LIST (slot)"));
        // a topic of an earlier version gains the column in place (on every partition; nothing is rewritten)
        objects.add(new SchemaInstaller.SchemaObject("column message_key of " + table.display(),
                connection -> !SchemaInstaller.tableExists(connection, log) || SchemaInstaller.hasColumns(connection, log, "message_key"),
                "ALTER TABLE " + log + " ADD COLUMN IF NOT EXISTS message_key text", true));
        for (int slot = 0; slot < TopicTable.SLOTS; slot++) {
            int s = slot;
            objects.add(new SchemaInstaller.SchemaObject("partition " + table.display() + "_" + slot,
                    connection -> SchemaInstaller.tableExists(connection, table.slotSql(s)),
                    "CREATE TABLE " + table.slotSql(slot) + " PARTITION OF " + log + " FOR VALUES IN (" + slot + ")"));
        }
        // a cut reads the rows of transactions that became visible: a range of ids of new transactions, and the ones
        // that were in progress at the previous cut
        objects.add(new SchemaInstaller.SchemaObject("index " + table.schema() + "." + table.companionName("_read"),
                connection -> SchemaInstaller.tableExists(connection, table.companion("_read")),
                "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_read")) + " ON " + log + " (channel, xid)"));
        objects.add(new SchemaInstaller.SchemaObject("index " + table.schema() + "." + table.companionName("_by_id"),
                connection -> SchemaInstaller.tableExists(connection, table.companion("_by_id")),
                "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_by_id")) + " ON " + log + " (id)"));
        objects.add(new SchemaInstaller.SchemaObject("table " + table.display() + "_groups",
                connection -> SchemaInstaller.tableExists(connection, table.groupsSql()),
                "CREATE TABLE " + table.groupsSql() + " (\n"
                    + "    channel    text        NOT NULL,\n"
                    + "    group_name text        NOT NULL,\n"
                    + "    created_at timestamptz NOT NULL DEFAULT now(),\n"
                    + "    seen_at    timestamptz NOT NULL DEFAULT now(),\n"
                    + "    PRIMARY KEY (channel, group_name)\n"
                    + ")"));
        // where each group has read the log up to: insert-only, the newest is found first from the index's end
        objects.add(new SchemaInstaller.SchemaObject("table " + table.display() + "_cuts",
                connection -> SchemaInstaller.tableExists(connection, table.cutsSql()),
                "CREATE TABLE " + table.cutsSql() + " (\n"
                    + "    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                    + "    channel    text        NOT NULL,\n"
                    + "    group_name text        NOT NULL,\n"
                    + "    snapshot   pg_snapshot NOT NULL,\n"
                    + "    messages   integer     NOT NULL,\n"
                    + "    cut_at     timestamptz NOT NULL DEFAULT now()\n"
                    + ");\n"
                    + "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_cuts_latest")) + " ON "
                    + table.cutsSql() + " (channel, group_name, seq)"));
        // the groups' work, leased and acknowledged like queue messages: batches of message ids, and retries of one
        objects.add(new SchemaInstaller.SchemaObject("table " + table.display() + "_items",
                connection -> SchemaInstaller.tableExists(connection, table.itemsSql()),
                "CREATE TABLE " + table.itemsSql() + " (\n"
                    + "    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
                    + "    channel      text        NOT NULL,\n"
                    + "    group_name   text        NOT NULL,\n"
                    + "    ids          bigint[]    NOT NULL,\n"
                    + "    progress     integer     NOT NULL DEFAULT 0,\n"
                    + "    attempts     integer     NOT NULL DEFAULT 0,\n"
                    + "    available_at timestamptz NOT NULL DEFAULT now(),\n"
                    + "    created_at   timestamptz NOT NULL DEFAULT now(),\n"
                    + "    last_error   text,\n"
                    + "    keys         text[],\n"
                    + "    position     bigint\n"
                    + ") WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01,"
                    + " autovacuum_vacuum_insert_scale_factor = 0.01);\n"
                    + "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_items_claim")) + " ON "
                    + table.itemsSql() + " (channel, group_name, id) WHERE channel IS NOT NULL"));
        objects.add(new SchemaInstaller.SchemaObject("columns keys, position of " + table.display() + "_items",
                connection -> !SchemaInstaller.tableExists(connection, table.itemsSql())
                        || SchemaInstaller.hasColumns(connection, table.itemsSql(), "keys"),
                "ALTER TABLE " + table.itemsSql() + " ADD COLUMN IF NOT EXISTS keys text[],"
                    + " ADD COLUMN IF NOT EXISTS position bigint", true));
        // per-key order: an item with keys waits for the group's earlier items with any of them (see TopicSql); only
        // items with keys are in it, so a topic without keys pays nothing for it
        objects.add(new SchemaInstaller.SchemaObject("index " + table.schema() + "." + table.companionName("_items_keys"),
                connection -> SchemaInstaller.tableExists(connection, table.companion("_items_keys")),
                "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_items_keys")) + " ON "
                    + table.itemsSql() + " (channel, group_name, (coalesce(position, id)), id) WHERE keys IS NOT NULL"));
        objects.add(new SchemaInstaller.SchemaObject("function " + table.schema() + "." + table.companionName("_items_xid") + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_EXISTS, table.companion("_items_xid") + "()"),
                "CREATE FUNCTION " + table.companion("_items_xid") + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    PERFORM pg_current_xact_id();\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q + ";\n"
                    + "CREATE TRIGGER " + PgIdentifiers.quote(table.companionName("_items_xid")) + " BEFORE INSERT ON "
                    + table.itemsSql() + " FOR EACH STATEMENT EXECUTE FUNCTION " + table.companion("_items_xid")
                    + "()"));
        objects.add(new SchemaInstaller.SchemaObject("table " + table.deadLetterDisplay(),
                connection -> SchemaInstaller.tableExists(connection, table.deadLetterSql()),
                "CREATE TABLE " + table.deadLetterSql() + " (\n"
                    + "    id         bigint      NOT NULL,\n"
                    + "    channel    text        NOT NULL,\n"
                    + "    group_name text        NOT NULL,\n"
                    + "    body_json  jsonb,\n"
                    + "    body_text  text,\n"
                    + "    body_bytes bytea,\n"
                    + "    headers    jsonb       NOT NULL,\n"
                    + "    created_at timestamptz NOT NULL,\n"
                    + "    attempts   integer     NOT NULL,\n"
                    + "    last_error text,\n"
                    + "    failed_at  timestamptz NOT NULL DEFAULT now(),\n"
                    // a message's id with its creation time: a log whose sequence was moved back by hand (ALTER
                    // SEQUENCE ... RESTART; it belongs to no column) draws the ids of earlier dead letters again,
                    // whose rows must stay
                    + "    PRIMARY KEY (channel, group_name, id, created_at)\n"
                    + ")"));
        // an earlier version's key left out created_at: a later message that drew an earlier dead letter's id and
        // failed in the same group replaced it. Rebuilt in place (dead letters are few)
        objects.add(SchemaInstaller.SchemaObject.primaryKey(table.deadLetterDisplay(), table.deadLetterSql(), "channel",
                "group_name", "id", "created_at"));
        // functions of an earlier version (without keys) are replaced in place
        objects.add(new SchemaInstaller.SchemaObject("function " + table.schema() + "." + table.companionName("_cut") + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                        cut, "message_key"),
                TopicFunctions.cutFunction(table)));
        objects.add(new SchemaInstaller.SchemaObject("function " + table.schema() + "." + table.companionName("_load") + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                        load, "message_key"),
                TopicFunctions.loadFunction(table)));
        // a load function that knows keys but reads its rows twice (the previous release's) is replaced in place
        objects.add(SchemaInstaller.SchemaObject.improvement("function " + table.schema() + "."
                                                             + table.companionName("_load") + "() reading its rows once",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                        load, TopicFunctions.LOAD_ONE_PASS_MARKER),
                TopicFunctions.loadFunctionReplaced(table)));
        objects.add(new SchemaInstaller.SchemaObject("function " + table.schema() + "." + table.companionName("_maintain") + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                        maintain, TopicFunctions.MAINTAIN_MARKER),
                TopicFunctions.maintainFunction(table)));
        // an earlier version's functions were JIT-compiled on a server with JIT (see TopicFunctions.NO_JIT): each
        // is given its own setting on its own, as its owner may be another role
        objects.add(withoutJit(table, "_cut", cut));
        objects.add(withoutJit(table, "_load", load));
        objects.add(withoutJit(table, "_maintain", maintain));
        // one wake-up per channel and statement, none for pgnotify's own producers (they wake after commit)
        objects.add(new SchemaInstaller.SchemaObject("function " + table.schema() + "." + table.companionName("_wake_up") + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_EXISTS, table.wakeUpFunctionSql() + "()"),
                "CREATE FUNCTION " + table.wakeUpFunctionSql() + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    IF current_setting('" + ProducerSettings.WAKE_UP_SETTING + "', true) IS DISTINCT FROM '"
                    + ProducerSettings.WAKE_UP_DEFERRED + "' THEN\n"
                    + "        PERFORM pg_notify(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, c.channel)\n"
                    + "        FROM (SELECT DISTINCT channel FROM inserted) AS c;\n"
                    + "    END IF;\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q + ";\n"
                    + "CREATE TRIGGER " + PgIdentifiers.quote(table.companionName("_wake_up")) + " AFTER INSERT ON "
                    + log + " REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "
                    + table.wakeUpFunctionSql() + "()"));
        objects.add(new SchemaInstaller.SchemaObject("view " + table.display() + "_lag",
                connection -> SchemaInstaller.tableExists(connection, table.lagSql()),
                TopicFunctions.lagView(table)));
        return objects;
    }

    /** Gives a function of an earlier version jit = off; a function still to be created has it already. */
    private static SchemaInstaller.SchemaObject withoutJit(TopicTable table, String suffix, String function) {
        return SchemaInstaller.SchemaObject.improvement("jit = off for function " + table.schema() + "."
                                                        + table.companionName(suffix) + "()",
                connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_MISSING_OR_TURNS_OFF, function,
                        function, "jit"),
                "ALTER FUNCTION " + function + " " + TopicFunctions.NO_JIT);
    }
}
