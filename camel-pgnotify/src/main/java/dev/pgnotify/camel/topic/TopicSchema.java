package dev.pgnotify.camel.topic;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.support.SupportSql;
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
     * One object of the schema: how to see that it exists, and how to create it. A migration brings a topic of an
     * earlier version up to date; a new topic has it already, so the documentation leaves it out.
     */
    private record SchemaObject(String description, Check exists, String ddl, boolean migration) {

        SchemaObject {
            ddl = PgIdentifiers.dollarQuoted(ddl);
        }

        SchemaObject(String description, Check exists, String ddl) {
            this(description, exists, ddl, false);
        }
    }

    @FunctionalInterface
    private interface Check {
        boolean test(Connection connection) throws SQLException;
    }

    /**
     * Makes sure the topic's objects exist: creates what is missing when {@code create} is true, otherwise fails naming
     * it. Commits only when everything is in place.
     */
    static void ensure(Connection connection, TopicTable table, boolean create, long lockTimeoutMillis)
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
            requireLogShape(connection, table);
            if (missing.isEmpty()) {
                connection.commit();
                return;
            }
            String names = String.join(", ", missing.stream().map(SchemaObject::description).toList());
            if (!create) {
                throw new IllegalStateException("The topic schema of " + table.display() + " is incomplete and"
                                                + " createSchema=false: missing " + names + ". Create them as the"
                                                + " installing role (the component documentation shows the SQL) or"
                                                + " set createSchema=true.");
            }
            try (Statement statement = connection.createStatement()) {
                for (SchemaObject object : missing) {
                    statement.execute(object.ddl());
                }
            } catch (SQLException e) {
                throw new SQLException("Cannot create " + names + " for the topic " + table.display() + ": "
                                       + e.getMessage() + ". Create them as a role that may (the component"
                                       + " documentation shows the SQL), then start with createSchema=false.",
                        e.getSQLState(), e);
            }
            connection.commit();
            LOG.info("Created {} for the topic {}", names, table.display());
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(autoCommit);
        }
    }

    /**
     * An existing table of the log's name must be a topic's log: a queue table or an application's table of that name
     * is reported instead of being used.
     */
    private static void requireLogShape(Connection connection, TopicTable table) throws SQLException {
        if (!tableExists(connection, table.sql())) {
            return;
        }
        Map<String, String> columns = new HashMap<>();
        try (PreparedStatement statement = connection.prepareStatement(SupportSql.TABLE_COLUMNS)) {
            statement.setString(1, table.sql());
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        if (!"xid8".equals(columns.get("xid")) || !"smallint".equals(columns.get("slot"))) {
            throw new IllegalStateException("The table " + table.display() + " exists but is not a pgnotify topic log"
                                            + " (it has no xid8 column xid and smallint column slot): choose another"
                                            + " topicTable");
        }
    }

    /** Every statement that creates a topic from nothing, as the documentation shows it. */
    public static List<String> ddl(TopicTable table) {
        return objects(table).stream().filter(object -> !object.migration()).map(SchemaObject::ddl).toList();
    }

    private static List<SchemaObject> objects(TopicTable table) {
        String log = table.sql();
        String state = table.stateSql();
        List<SchemaObject> objects = new ArrayList<>();
        // which slot receives new messages; rotation moves it on, once the next slot has been emptied
        objects.add(new SchemaObject("table " + table.display() + "_state",
                connection -> tableExists(connection, state),
                "CREATE TABLE " + state + " (\n"
                    + "    id         integer     PRIMARY KEY CHECK (id = 1),\n"
                    + "    slot       smallint    NOT NULL,\n"
                    + "    slot_since timestamptz NOT NULL\n"
                    + ");\n"
                    + "INSERT INTO " + state + " VALUES (1, 0, now())"));
        objects.add(new SchemaObject("function " + table.schema() + "." + table.companionName("_slot") + "()",
                connection -> exists(connection, SupportSql.FUNCTION_EXISTS, table.slotFunctionSql() + "()"),
                // PL/pgSQL keeps its plan for the session; a SQL function here would plan its query on every insert
                "CREATE FUNCTION " + table.slotFunctionSql() + "() RETURNS smallint LANGUAGE plpgsql STABLE AS"
                    + " 'BEGIN RETURN (SELECT slot FROM " + state.replace("'", "''") + " WHERE id = 1); END'"));
        objects.add(new SchemaObject("sequence " + table.schema() + "." + table.companionName("_id_seq"),
                connection -> tableExists(connection, table.idSequenceSql()),
                "CREATE SEQUENCE " + table.idSequenceSql()));
        // insert-only: a row is never updated nor deleted, only its slot is emptied whole
        objects.add(new SchemaObject("table " + table.display(),
                connection -> tableExists(connection, log),
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
        objects.add(new SchemaObject("column message_key of " + table.display(),
                connection -> !tableExists(connection, log) || hasColumn(connection, log, "message_key"),
                "ALTER TABLE " + log + " ADD COLUMN IF NOT EXISTS message_key text", true));
        for (int slot = 0; slot < TopicTable.SLOTS; slot++) {
            int s = slot;
            objects.add(new SchemaObject("partition " + table.display() + "_" + slot,
                    connection -> tableExists(connection, table.slotSql(s)),
                    "CREATE TABLE " + table.slotSql(slot) + " PARTITION OF " + log + " FOR VALUES IN (" + slot + ")"));
        }
        // a cut reads the rows of transactions that became visible: a range of ids of new transactions, and the ones
        // that were in progress at the previous cut
        objects.add(new SchemaObject("index " + table.schema() + "." + table.companionName("_read"),
                connection -> tableExists(connection, table.companion("_read")),
                "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_read")) + " ON " + log + " (channel, xid)"));
        objects.add(new SchemaObject("index " + table.schema() + "." + table.companionName("_by_id"),
                connection -> tableExists(connection, table.companion("_by_id")),
                "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_by_id")) + " ON " + log + " (id)"));
        objects.add(new SchemaObject("table " + table.display() + "_groups",
                connection -> tableExists(connection, table.groupsSql()),
                "CREATE TABLE " + table.groupsSql() + " (\n"
                    + "    channel    text        NOT NULL,\n"
                    + "    group_name text        NOT NULL,\n"
                    + "    created_at timestamptz NOT NULL DEFAULT now(),\n"
                    + "    seen_at    timestamptz NOT NULL DEFAULT now(),\n"
                    + "    PRIMARY KEY (channel, group_name)\n"
                    + ")"));
        // where each group has read the log up to: insert-only, the newest is found first from the index's end
        objects.add(new SchemaObject("table " + table.display() + "_cuts",
                connection -> tableExists(connection, table.cutsSql()),
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
        objects.add(new SchemaObject("table " + table.display() + "_items",
                connection -> tableExists(connection, table.itemsSql()),
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
        objects.add(new SchemaObject("columns keys, position of " + table.display() + "_items",
                connection -> !tableExists(connection, table.itemsSql())
                        || hasColumn(connection, table.itemsSql(), "keys"),
                "ALTER TABLE " + table.itemsSql() + " ADD COLUMN IF NOT EXISTS keys text[],"
                    + " ADD COLUMN IF NOT EXISTS position bigint", true));
        // per-key order: an item with keys waits for the group's earlier items with any of them (see TopicSql); only
        // items with keys are in it, so a topic without keys pays nothing for it
        objects.add(new SchemaObject("index " + table.schema() + "." + table.companionName("_items_keys"),
                connection -> tableExists(connection, table.companion("_items_keys")),
                "CREATE INDEX " + PgIdentifiers.quote(table.companionName("_items_keys")) + " ON "
                    + table.itemsSql() + " (channel, group_name, (coalesce(position, id)), id) WHERE keys IS NOT NULL"));
        objects.add(new SchemaObject("function " + table.schema() + "." + table.companionName("_items_xid") + "()",
                connection -> exists(connection, SupportSql.FUNCTION_EXISTS, table.companion("_items_xid") + "()"),
                "CREATE FUNCTION " + table.companion("_items_xid") + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    PERFORM pg_current_xact_id();\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q + ";\n"
                    + "CREATE TRIGGER " + PgIdentifiers.quote(table.companionName("_items_xid")) + " BEFORE INSERT ON "
                    + table.itemsSql() + " FOR EACH STATEMENT EXECUTE FUNCTION " + table.companion("_items_xid")
                    + "()"));
        objects.add(new SchemaObject("table " + table.deadLetterDisplay(),
                connection -> tableExists(connection, table.deadLetterSql()),
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
                    + "    PRIMARY KEY (channel, group_name, id)\n"
                    + ")"));
        // functions of an earlier version (without keys) are replaced in place
        objects.add(new SchemaObject("function " + table.schema() + "." + table.companionName("_cut") + "()",
                connection -> exists(connection, SupportSql.FUNCTION_CONTAINS,
                        table.cutFunctionSql() + "(text, text, integer, integer)", "message_key"),
                cutFunction(table)));
        objects.add(new SchemaObject("function " + table.schema() + "." + table.companionName("_load") + "()",
                connection -> exists(connection, SupportSql.FUNCTION_CONTAINS,
                        table.loadFunctionSql() + "(bigint[], bigint, boolean)", "message_key"),
                loadFunction(table)));
        objects.add(new SchemaObject("function " + table.schema() + "." + table.companionName("_maintain") + "()",
                connection -> exists(connection, SupportSql.FUNCTION_CONTAINS,
                        table.maintainFunctionSql() + "(interval, interval, interval)", MAINTAIN_MARKER),
                maintainFunction(table)));
        // one wake-up per channel and statement, none for pgnotify's own producers (they wake after commit)
        objects.add(new SchemaObject("function " + table.schema() + "." + table.companionName("_wake_up") + "()",
                connection -> exists(connection, SupportSql.FUNCTION_EXISTS, table.wakeUpFunctionSql() + "()"),
                "CREATE FUNCTION " + table.wakeUpFunctionSql() + "() RETURNS trigger LANGUAGE plpgsql AS " + Q + "\n"
                    + "BEGIN\n"
                    + "    IF current_setting('" + SupportSql.WAKE_UP_SETTING + "', true) IS DISTINCT FROM '"
                    + SupportSql.WAKE_UP_DEFERRED + "' THEN\n"
                    + "        PERFORM pg_notify(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, c.channel)\n"
                    + "        FROM (SELECT DISTINCT channel FROM inserted) AS c;\n"
                    + "    END IF;\n"
                    + "    RETURN NULL;\n"
                    + "END " + Q + ";\n"
                    + "CREATE TRIGGER " + PgIdentifiers.quote(table.companionName("_wake_up")) + " AFTER INSERT ON "
                    + log + " REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "
                    + table.wakeUpFunctionSql() + "()"));
        objects.add(new SchemaObject("view " + table.display() + "_lag",
                connection -> tableExists(connection, table.lagSql()),
                lagView(table)));
        return objects;
    }

    /**
     * Cuts the next part of the log for a group: the rows of the group's channel whose transactions became visible
     * since its latest cut (those with ids from the previous snapshot's xmax on, and those that were in progress in
     * it), in id order, split into items of up to a batch. A backlog larger than the limit is cut in pieces: the cut
     * then ends at the transaction id after which the limit would be passed, with the transactions still in progress
     * below it carried on to the next cut. One cutter per group at a time: the others wait for it and find its items;
     * returns how many messages it cut, and whether the limit cut it short.
     */
    private static String cutFunction(TopicTable table) {
        String log = table.sql();
        return "CREATE OR REPLACE FUNCTION " + table.cutFunctionSql()
               + "(p_channel text, p_group text, p_batch integer, p_limit integer, OUT messages integer,"
               + " OUT more boolean)"
               // its plans are cached for the session: one made while the log was small (a new topic, before its
               // first ANALYZE) would otherwise scan the whole partition on every cut, from then on
               + " LANGUAGE plpgsql SET enable_seqscan = off AS " + Q + "\n"
               + "DECLARE\n"
               + "    prev pg_snapshot;\n"
               + "    prev_seq bigint;\n"
               + "    next pg_snapshot;\n"
               + "    bound xid8;\n"
               + "    carried xid8[];\n"
               + "    cut_ids bigint[];\n"
               + "    cut_keys text[];\n"
               + "BEGIN\n"
               + "    more := false;\n"
               // cutters of a group take turns: the second finds the first's items once it has committed
               + "    PERFORM pg_advisory_xact_lock(hashtext('pgnotify cut " + table.display().replace("'", "''")
               + "'), hashtext(p_channel || ' ' || p_group));\n"
               // the items inserted below draw their ids after this transaction has its own id (see ClaimCursor)
               + "    PERFORM pg_current_xact_id();\n"
               + "    SELECT seq, snapshot INTO prev_seq, prev FROM " + table.cutsSql()
               + " WHERE channel = p_channel AND group_name = p_group ORDER BY seq DESC LIMIT 1;\n"
               // a group without cuts (deleted by hand, to restart it) starts again from now on
               + "    IF prev IS NULL THEN\n"
               + "        INSERT INTO " + table.cutsSql() + " (channel, group_name, snapshot, messages)"
               + " VALUES (p_channel, p_group, pg_current_snapshot(), 0);\n"
               + "        messages := 0;\n"
               + "        RETURN;\n"
               + "    END IF;\n"
               + "    next := pg_current_snapshot();\n"
               // xid8 never wraps around; ids ahead of the server's mean the tables were restored into another cluster
               + "    IF pg_snapshot_xmax(next) < pg_snapshot_xmax(prev) THEN\n"
               + "        RAISE EXCEPTION 'The topic % holds transaction ids ahead of this server''s (%, server at %):"
               + " was it restored into another cluster? Delete the group''s rows from its _cuts table: it then"
               + " goes on with the messages published from then on', '" + table.display().replace("'", "''") + "',"
               + " pg_snapshot_xmax(prev), pg_snapshot_xmax(next);\n"
               + "    END IF;\n"
               + "    bound := pg_snapshot_xmax(next);\n"
               // a backlog is cut in pieces: find the transaction id at which the limit is reached
               + "    SELECT r.xid INTO bound FROM " + log + " r WHERE r.channel = p_channel"
               + " AND r.xid >= pg_snapshot_xmax(prev) AND r.xid < pg_snapshot_xmax(next)"
               + " ORDER BY r.xid OFFSET p_limit LIMIT 1;\n"
               + "    IF bound IS NOT NULL AND NOT EXISTS (SELECT 1 FROM " + log + " r WHERE r.channel = p_channel"
               + " AND r.xid >= pg_snapshot_xmax(prev) AND r.xid < bound) THEN\n"
               // one transaction alone holds more than the limit: it is cut whole
               + "        SELECT min(r.xid) INTO bound FROM " + log + " r WHERE r.channel = p_channel"
               + " AND r.xid > bound AND r.xid < pg_snapshot_xmax(next);\n"
               + "    END IF;\n"
               + "    IF bound IS NULL THEN\n"
               + "        bound := pg_snapshot_xmax(next);\n"
               + "    ELSE\n"
               // the limit cut this one short (by fewer rows than the limit when a transaction straddles it)
               + "        more := true;\n"
               + "        SELECT array_agg(x ORDER BY x) INTO carried FROM pg_snapshot_xip(next) AS x WHERE x < bound;\n"
               + "        next := (coalesce(carried[1], bound)::text || ':' || bound::text || ':'"
               + " || coalesce(array_to_string(carried, ','), ''))::pg_snapshot;\n"
               + "    END IF;\n"
               + "    SELECT array_agg(c.id ORDER BY c.id), array_agg(c.message_key ORDER BY c.id) INTO cut_ids, cut_keys"
               + " FROM (\n"
               + "        SELECT r.id, r.xid, r.message_key FROM " + log + " r WHERE r.channel = p_channel"
               + " AND r.xid >= pg_snapshot_xmax(prev) AND r.xid < bound\n"
               + "        UNION ALL\n"
               // one index look-up per transaction that was in progress (a join, not "= ANY": see inProgressRows)
               + "        SELECT r.id, r.xid, r.message_key FROM " + inProgressRows(log, "p_channel", "prev") + "\n"
               + "    ) c WHERE pg_visible_in_snapshot(c.xid, next);\n"
               + "    messages := coalesce(array_length(cut_ids, 1), 0);\n"
               + "    IF messages > 0 AND cardinality(array_remove(cut_keys, NULL)) = 0 THEN\n"
               + "        INSERT INTO " + table.itemsSql() + " (channel, group_name, ids)"
               + " SELECT p_channel, p_group, cut_ids[i:i + p_batch - 1]"
               + " FROM generate_series(1, messages, p_batch) AS i ORDER BY i;\n"
               + "    ELSIF messages > 0 THEN\n"
               // per-key order: keyed messages go into items by a hash of their key, so that items of different
               // buckets share no key and go in parallel, while an item waits for the earlier ones of its keys
               + "        INSERT INTO " + table.itemsSql() + " (channel, group_name, ids, keys)"
               + " SELECT p_channel, p_group, array_agg(u.id ORDER BY u.id),"
               + " array_agg(DISTINCT u.k) FILTER (WHERE u.k IS NOT NULL)"
               + " FROM (SELECT u.id, u.k, b.bucket, (row_number() OVER (PARTITION BY b.bucket ORDER BY u.id) - 1)"
               + " / p_batch AS chunk FROM unnest(cut_ids, cut_keys) AS u(id, k),"
               + " LATERAL (SELECT CASE WHEN u.k IS NULL THEN -1 ELSE abs(hashtext(u.k) % " + TopicTable.KEY_BUCKETS
               + ") END AS bucket) b) u"
               + " GROUP BY u.bucket, u.chunk ORDER BY min(u.id);\n"
               + "    END IF;\n"
               // an empty cut is not recorded: the next one looks at the same (empty) range again, at no cost; the
               // previous one is deleted by its key (a scan for superseded cuts would walk the dead ones an old
               // snapshot keeps), and the newest is found first from the index's end
               + "    IF messages > 0 THEN\n"
               + "        INSERT INTO " + table.cutsSql() + " (channel, group_name, snapshot, messages)"
               + " VALUES (p_channel, p_group, next, messages);\n"
               + "        DELETE FROM " + table.cutsSql() + " WHERE seq = prev_seq;\n"
               + "    END IF;\n"
               + "END " + Q;
    }

    /**
     * Reads messages by id, in the order given, up to a byte budget (at least one), binary bodies only when asked
     * (is_binary says which were left out: a claim's text result would carry them as hex), through each partition's id index
     * only. A function, so that its plan is made afresh for each call and can never be a seq scan: a prepared statement
     * keeps the plan it made while a partition was small (a new topic, or a slot just emptied and filling again) and
     * would scan the whole partition on every read from then on. Runs with the caller's rights.
     */
    private static String loadFunction(TopicTable table) {
        String log = table.sql();
        // its result gained a column (the key): an earlier version's must be dropped first
        return "DROP FUNCTION IF EXISTS " + table.loadFunctionSql() + "(bigint[], bigint, boolean);\n"
               + "CREATE FUNCTION " + table.loadFunctionSql() + "(p_ids bigint[], p_budget bigint, p_bytes boolean)"
               + " RETURNS TABLE (n bigint, id bigint, body_json text, body_text text, body_bytes bytea, headers text,"
               + " created_at timestamptz, is_binary boolean, message_key text) LANGUAGE sql STABLE"
               + " SET enable_seqscan = off AS " + Q + "\n"
               + "    WITH sized AS (\n"
               // a stored body's size without reading it
               + "        SELECT m.id, coalesce(octet_length(m.body_text), octet_length(m.body_bytes),"
               + " pg_column_size(m.body_json), 0) AS size\n"
               + "        FROM " + log + " m WHERE m.id = ANY(p_ids)\n"
               + "    ), within AS MATERIALIZED (\n"
               + "        SELECT o.n, o.id FROM (SELECT u.n, s.id, sum(s.size) OVER (ORDER BY u.n) - s.size AS before\n"
               + "            FROM unnest(p_ids) WITH ORDINALITY AS u(mid, n) JOIN sized s ON s.id = u.mid) o\n"
               + "        WHERE o.before < p_budget\n"
               + "    )\n"
               + "    SELECT w.n, m.id, m.body_json::text, m.body_text, CASE WHEN p_bytes THEN m.body_bytes END,"
               + " m.headers::text, m.created_at, m.body_bytes IS NOT NULL, m.message_key\n"
               + "    FROM " + log + " m JOIN within w ON w.id = m.id WHERE m.id = ANY(ARRAY(SELECT w2.id FROM within w2))\n"
               + "    ORDER BY w.n\n"
               + Q;
    }

    /**
     * Rotates the log and empties at most one slot that no group needs any more; the caller calls it again while it
     * empties one. The current slot gives way to the next when it has been current for the rotation interval and the
     * next one is empty. A slot other than the current one is emptied (one TRUNCATE, no dead rows) once its newest
     * message is older than the retention and every group has cut past its messages and finished the items that name
     * them, or, whatever the groups, once its newest message is older than the maximum retention; the groups that had
     * not read it yet are named.
     * <p>
     * The slot is locked first (NOWAIT: a reader or writer holding it is never queued behind; the next round tries
     * again), and only then checked: under the lock no transaction can still be inserting into it, so the check sees
     * every row it will ever hold. (Checked before the lock, a transaction that inserted into the slot before it rotated
     * out and committed between the check and the lock would lose its row unread.) One slot per call, because the lock
     * lasts until the call's transaction ends: readers of the log, which lock every partition, wait for one TRUNCATE,
     * never for the checks of the other slots. One maintainer at a time.
     */
    private static String maintainFunction(TopicTable table) {
        StringBuilder body = new StringBuilder();
        for (int slot = 0; slot < TopicTable.SLOTS; slot++) {
            String slotTable = table.slotSql(slot);
            // (its newest message, by the id index: one entry, however full the slot)
            body.append("    IF cur <> ").append(slot).append(" AND (SELECT r.created_at FROM ").append(slotTable)
                    .append(" r ORDER BY r.id DESC LIMIT 1) <= now() - p_retention THEN\n")
                    .append("        BEGIN\n")
                    // locked first, checked after: the lock waits for no one, and nobody writes into the slot under it
                    .append("            LOCK TABLE ").append(slotTable).append(" IN ACCESS EXCLUSIVE MODE NOWAIT;\n")
                    .append("        EXCEPTION WHEN lock_not_available THEN\n")
                    .append("            RETURN;\n")
                    .append("        END;\n")
                    .append("        SELECT min(r.id), max(r.id) INTO lo, hi FROM ").append(slotTable).append(" r;\n")
                    .append("        SELECT r.created_at INTO newest FROM ").append(slotTable)
                    .append(" r ORDER BY r.id DESC LIMIT 1;\n")
                    .append("        IF lo IS NULL OR newest > now() - p_retention THEN\n")
                    .append("            RETURN;\n")
                    .append("        END IF;\n")
                    .append("        SELECT string_agg(g.channel || '/' || g.group_name, ', ') INTO needed FROM ")
                    .append(table.groupsSql()).append(" g CROSS JOIN LATERAL (SELECT c.snapshot FROM ")
                    .append(table.cutsSql()).append(" c WHERE c.channel = g.channel AND c.group_name = g.group_name")
                    .append(" ORDER BY c.seq DESC LIMIT 1) l WHERE EXISTS (SELECT 1 FROM ").append(slotTable)
                    .append(" r WHERE r.channel = g.channel AND r.xid >= pg_snapshot_xmax(l.snapshot))")
                    .append(" OR EXISTS (SELECT 1 FROM ").append(inProgressRows(slotTable, "g.channel", "l.snapshot"))
                    .append(")")
                    .append(" OR EXISTS (SELECT 1 FROM ")
                    .append(table.itemsSql()).append(" i WHERE i.channel = g.channel AND i.group_name = g.group_name")
                    .append(" AND i.ids[1] <= hi AND i.ids[cardinality(i.ids)] >= lo);\n")
                    .append("        IF needed IS NULL OR newest <= now() - p_max_retention THEN\n")
                    .append("            TRUNCATE ").append(slotTable).append(";\n")
                    .append("            emptied := ").append(slot).append(";\n")
                    .append("            unread_by := needed;\n")
                    .append("            RETURN NEXT;\n")
                    .append("        END IF;\n")
                    // whether emptied or still needed: the lock is held until this call ends, so it ends now
                    .append("        RETURN;\n")
                    .append("    END IF;\n");
        }
        StringBuilder rotate = new StringBuilder();
        for (int slot = 0; slot < TopicTable.SLOTS; slot++) {
            rotate.append(slot == 0 ? "    IF" : "    ELSIF").append(" nxt = ").append(slot)
                    .append(" THEN\n        next_empty := NOT EXISTS (SELECT 1 FROM ").append(table.slotSql(slot))
                    .append(");\n");
        }
        rotate.append("    END IF;\n");
        // it runs with its owner's rights, so that consumers need no TRUNCATE privilege; every name in it is
        // qualified, and only roles granted EXECUTE may call it
        return "CREATE OR REPLACE FUNCTION " + table.maintainFunctionSql()
               + "(p_retention interval, p_max_retention interval, p_rotate_after interval)"
               + " RETURNS TABLE (emptied integer, unread_by text) LANGUAGE plpgsql"
               + " SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan"
               + " AS " + Q + "\n"
               + "DECLARE\n"
               + "    cur smallint;\n"
               + "    since timestamptz;\n"
               + "    nxt smallint;\n"
               + "    next_empty boolean;\n"
               + "    lo bigint;\n"
               + "    hi bigint;\n"
               + "    newest timestamptz;\n"
               + "    needed text;\n"
               + "BEGIN\n"
               + "    IF NOT pg_try_advisory_xact_lock(hashtext('pgnotify maintain " + table.display().replace("'", "''")
               + "')) THEN\n"
               + "        RETURN;\n"
               + "    END IF;\n"
               + "    SELECT st.slot, st.slot_since INTO cur, since FROM " + table.stateSql() + " st WHERE st.id = 1;\n"
               + "    nxt := (cur + 1) % " + TopicTable.SLOTS + ";\n"
               + rotate
               + "    IF since <= now() - p_rotate_after AND next_empty THEN\n"
               + "        UPDATE " + table.stateSql() + " SET slot = nxt, slot_since = now() WHERE id = 1;\n"
               + "        cur := nxt;\n"
               + "    END IF;\n"
               // (the marker by which a function of an earlier version, which checked before it locked, is replaced)
               + "    -- " + MAINTAIN_MARKER + "\n"
               + body
               + "END " + Q + ";\n"
               + "REVOKE ALL ON FUNCTION " + table.maintainFunctionSql() + "(interval, interval, interval) FROM PUBLIC";
    }

    /** In the maintenance function's body since it locks a slot before checking it. */
    static final String MAINTAIN_MARKER = "one slot per call, locked before it is checked";

    /**
     * Each group's lag: messages published on its channel that it has not processed yet (not yet cut, or cut and still
     * waiting, in flight or retried), and the age of the oldest.
     */
    private static String lagView(TopicTable table) {
        return "CREATE VIEW " + table.lagSql() + " AS\n" + lagOf(table, "", "");
    }

    /**
     * The lag of the groups, as the lag view computes it; {@code where} filters the groups, {@code itemsFrom} bounds
     * the items read by id. The items' part walks every index entry of the group's items from there, dead ones too:
     * under a long-held snapshot the view gets slower, while a consumer, which knows below which id nothing is left,
     * reads only the rest.
     */
    static String lagOf(TopicTable table, String where, String itemsFrom) {
        String log = table.sql();
        return "SELECT g.channel, g.group_name,\n"
               + "       coalesce(u.messages, 0) + coalesce(i.messages, 0) AS messages,\n"
               + "       now() - least(u.oldest, i.oldest) AS age,\n"
               + "       g.seen_at\n"
               + "FROM " + table.groupsSql() + " g\n"
               + "LEFT JOIN LATERAL (SELECT snapshot FROM " + table.cutsSql()
               + " c WHERE c.channel = g.channel AND c.group_name = g.group_name ORDER BY c.seq DESC LIMIT 1) l ON true\n"
               + "LEFT JOIN LATERAL (SELECT count(*) AS messages, min(v.created_at) AS oldest FROM ("
               + "SELECT r.created_at FROM " + log + " r WHERE r.channel = g.channel"
               + " AND r.xid >= pg_snapshot_xmax(l.snapshot)"
               + " UNION ALL SELECT r.created_at FROM " + inProgressRows(log, "g.channel", "l.snapshot") + ") v) u"
               + " ON true\n"
               + "LEFT JOIN LATERAL (SELECT sum(cardinality(t.ids) - t.progress) AS messages, min(t.created_at) AS oldest"
               + " FROM " + table.itemsSql() + " t WHERE t.channel = g.channel AND t.group_name = g.group_name"
               + itemsFrom + ") i ON true" + where;
    }

    /**
     * The FROM clause of the rows of a channel written by the transactions in progress in a snapshot, as {@code r}: one
     * look-up in the (channel, xid) index per transaction. Written as "xid = ANY(its xids)" or as a plain join, a plan
     * made while the log was small reads every row of the channel instead (a bitmap or hash over the channel), on
     * every call from then on; OFFSET 0 keeps the look-up a subquery run per transaction id.
     */
    private static String inProgressRows(String log, String channel, String snapshot) {
        return "pg_snapshot_xip(" + snapshot + ") AS x(xid) CROSS JOIN LATERAL (SELECT r.id, r.xid, r.created_at,"
               + " r.message_key FROM "
               + log + " r WHERE r.channel = " + channel + " AND r.xid = x.xid OFFSET 0) r";
    }

    private static boolean hasColumn(Connection connection, String quotedName, String column) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(SupportSql.TABLE_COLUMNS)) {
            statement.setString(1, quotedName);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    if (column.equals(rs.getString(1))) {
                        return true;
                    }
                }
            }
        }
        return false;
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
}
