package dev.pgnotify.camel.queue;

import java.util.List;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.produce.ProducerSettings;
import dev.pgnotify.camel.schema.SchemaCatalog;
import dev.pgnotify.camel.schema.SchemaInstaller;
import dev.pgnotify.camel.schema.SchemaInstaller.SchemaObject;

/**
 * A queue's deduplication objects: a message with a deduplication id is enqueued only while the id is free; the id
 * stays taken while its message exists and for its window after. The table is the one arbiter of concurrent producers
 * and of the message's end (its row is locked by either), and the triggers serve SQL publishers alike.
 * <p>
 * The window starts when the message's row is deleted (acknowledged, dead-lettered, expired): a trigger rewrites the
 * id's row then. It fires once per statement for every row the statement deleted, as an acknowledgement deletes a
 * claim's worth at once; with the table's pages half free, each rewrite stays on its page (a HOT update, no index
 * entry). Measured on PostgreSQL 15, 200,000 deletions in statements of 100: the trigger's work 2.2 s once per row on
 * full pages, 0.7 s once per statement on half-free pages.
 */
final class DeduplicationSchema {

    /** Only the done function of this release has it: it serves a trigger fired once per statement. */
    static final String DONE_PER_STATEMENT_MARKER = "TG_LEVEL";

    /** Where function bodies are dollar-quoted: see {@link PgIdentifiers#dollarQuoted}. */
    private static final String Q = PgIdentifiers.BODY_QUOTE;

    private DeduplicationSchema() {
    }

    /** The objects, in the order they are created. */
    static List<SchemaObject> objects(QueueTable table) {
        String t = table.sql();
        String dedup = table.deduplicationSql();
        String doneFunction = table.deduplicationDoneFunctionSql() + "()";
        String doneTrigger = table.deduplicationDoneTriggerName();
        return List.of(
                new SchemaObject("table " + table.deduplicationDisplay(),
                        connection -> SchemaInstaller.tableExists(connection, dedup),
                        "CREATE TABLE " + dedup + " (\n"
                            + "    channel   text        NOT NULL,\n"
                            + "    dedup_id  text        NOT NULL,\n"
                            + "    until     timestamptz NOT NULL,\n"
                            + "    window_ms bigint      NOT NULL DEFAULT 0,\n"
                            + "    PRIMARY KEY (channel, dedup_id)\n"
                            // half of each page stays free for the rewrite that starts an id's window (see above)
                            + ") WITH (fillfactor = 50)"),
                // a table of an earlier version: new pages are filled to half from now on, nothing is rewritten
                SchemaObject.improvement("fillfactor of table " + table.deduplicationDisplay(),
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.TABLE_MISSING_OR_HAS_PARAMETER,
                                dedup, dedup, "fillfactor"),
                        "ALTER TABLE " + dedup + " SET (fillfactor = 50)"),
                // times are the clock's, not the transaction's start: a producer whose transaction began before the
                // previous message of the same id was acknowledged must see its window as it stands when it inserts.
                // A function of an earlier version (comparing with now()) is replaced in place
                new SchemaObject("function " + table.schema() + "." + table.deduplicationTriggerName() + "()",
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                                table.deduplicationFunctionSql() + "()", "clock_timestamp"),
                        "CREATE OR REPLACE FUNCTION " + table.deduplicationFunctionSql() + "() RETURNS trigger"
                            + " LANGUAGE plpgsql AS " + Q + "\n"
                            + "BEGIN\n"
                            + "    INSERT INTO " + dedup + " AS d (channel, dedup_id, until, window_ms)\n"
                            + "    VALUES (NEW.channel, NEW.dedup_id, 'infinity', coalesce(nullif(current_setting('"
                            + ProducerSettings.DEDUPLICATION_WINDOW_SETTING + "', true), '')::bigint, 0))\n"
                            + "    ON CONFLICT (channel, dedup_id) DO UPDATE SET until = 'infinity',"
                            + " window_ms = excluded.window_ms\n"
                            + "    WHERE d.until < clock_timestamp();\n"
                            + "    IF NOT FOUND THEN\n"
                            + "        RETURN NULL;\n"
                            + "    END IF;\n"
                            + "    RETURN NEW;\n"
                            + "END " + Q),
                new SchemaObject("trigger " + table.deduplicationTriggerName() + " on " + table.display(),
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, t,
                                table.deduplicationTriggerName()),
                        "CREATE TRIGGER " + PgIdentifiers.quote(table.deduplicationTriggerName()) + " BEFORE INSERT ON "
                            + t + " FOR EACH ROW WHEN (NEW.dedup_id IS NOT NULL) EXECUTE FUNCTION "
                            + table.deduplicationFunctionSql() + "()"),
                // an earlier version's function (row by row, with the clock) serves its own trigger as it is (the
                // improvement below replaces both); one comparing with now(), or one left without its per-row
                // trigger, is replaced in place
                new SchemaObject("function " + table.schema() + "." + doneTrigger + "()",
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS, doneFunction,
                                DONE_PER_STATEMENT_MARKER)
                                      || SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS, doneFunction,
                                "clock_timestamp")
                                         && SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_PER_ROW, t,
                                doneTrigger),
                        doneFunction(table)),
                new SchemaObject("trigger " + doneTrigger + " on " + table.display(),
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, t, doneTrigger),
                        doneTrigger(table)),
                // an earlier version's trigger fired once per row: the function and the trigger are replaced together
                // (one savepoint: a role that may not leaves both as they were, which works, only slower)
                SchemaObject.improvement("trigger " + doneTrigger + " on " + table.display() + " once per statement",
                        connection -> !SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, t, doneTrigger)
                                      || !SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_PER_ROW, t,
                                doneTrigger)
                                         && SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                                doneFunction, DONE_PER_STATEMENT_MARKER),
                        doneFunction(table) + ";\n"
                            + "DROP TRIGGER IF EXISTS " + PgIdentifiers.quote(doneTrigger) + " ON " + t + ";\n"
                            + doneTrigger(table)));
    }

    /**
     * Starts the windows of the ids of the messages a statement deleted. It serves an earlier version's trigger (once
     * per row) as well, so that replacing the function before its trigger changes nothing.
     */
    private static String doneFunction(QueueTable table) {
        String dedup = table.deduplicationSql();
        return "CREATE OR REPLACE FUNCTION " + table.deduplicationDoneFunctionSql() + "() RETURNS trigger"
               + " LANGUAGE plpgsql AS " + Q + "\n"
               + "BEGIN\n"
               + "    IF " + DONE_PER_STATEMENT_MARKER + " = 'STATEMENT' THEN\n"
               + "        UPDATE " + dedup + " AS d SET until = clock_timestamp() + d.window_ms * interval '1 millisecond'\n"
               + "        FROM gone AS g\n"
               + "        WHERE g.dedup_id IS NOT NULL AND d.channel = g.channel AND d.dedup_id = g.dedup_id;\n"
               + "    ELSE\n"
               + "        UPDATE " + dedup + " SET until = clock_timestamp() + window_ms * interval '1 millisecond'\n"
               + "        WHERE channel = OLD.channel AND dedup_id = OLD.dedup_id;\n"
               + "    END IF;\n"
               + "    RETURN NULL;\n"
               + "END " + Q;
    }

    private static String doneTrigger(QueueTable table) {
        return "CREATE TRIGGER " + PgIdentifiers.quote(table.deduplicationDoneTriggerName()) + " AFTER DELETE ON "
               + table.sql() + " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION "
               + table.deduplicationDoneFunctionSql() + "()";
    }
}
