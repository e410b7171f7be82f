package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.produce.ProducerSettings;
import dev.pgnotify.camel.schema.SchemaCatalog;
import dev.pgnotify.camel.schema.SchemaInstaller;
import dev.pgnotify.camel.schema.SchemaInstaller.SchemaObject;

/**
 * A queue's deduplication objects: a message with a deduplication id is enqueued only while the id is free; the id
 * stays taken while its message exists and for its window after. The table is the one arbiter of concurrent producers
 * and of the message's end (its row is locked by a producer taking the id and by the message's end; a producer refused
 * a taken id locks nothing), and the triggers serve SQL publishers alike.
 * <p>
 * The window starts when the message's row is deleted (acknowledged, dead-lettered, expired): a trigger rewrites the
 * id's row then. It fires once per statement for every row the statement deleted, as an acknowledgement deletes a
 * claim's worth at once; with the table's pages half free, each rewrite stays on its page (a HOT update, no index
 * entry). Measured on PostgreSQL 15 (docs/benchmark/deduplication.md): 200,000 deletions in statements of 100 took
 * 3.3 s with the trigger once per row on full pages, 1.5–1.6 s once per statement on half-free pages, 0.25 s with
 * none.
 * <p>
 * An earlier version's trigger ({@code _dedup_done}) fired once per row. This one has a name of its own, so that
 * neither version's objects are changed under the other: the earlier version, started again with createSchema=true,
 * puts its own trigger back beside this one (both start the same window), and this version replaces it again.
 */
final class DeduplicationSchema {

    /**
     * A window this long or longer keeps its id for good: about 31,700 years, well below what a timestamp can hold
     * (up to the year 294276). A longer one (Long.MAX_VALUE meant as forever, say) would overflow the window's end,
     * and every statement that deletes its message would fail, so that the message could never leave the queue.
     */
    private static final long FOREVER_MILLIS = 1_000_000_000_000_000L;

    /** The deleted rows, as the window trigger's transition table names them. */
    private static final String DELETED = "gone";

    /** What only this version's function that takes an id says (see {@link #takeFunction}). */
    private static final String REFUSED_UNLOCKED = "refused without locking its row";

    /** Where function bodies are dollar-quoted: see {@link PgIdentifiers#dollarQuoted}. */
    private static final String Q = PgIdentifiers.BODY_QUOTE;

    private DeduplicationSchema() {
    }

    /** The objects, in the order they are created. */
    static List<SchemaObject> objects(QueueTable table) {
        String t = table.sql();
        String dedup = table.deduplicationSql();
        String window = table.deduplicationWindowTriggerName();
        String windowFunction = table.deduplicationWindowFunctionSql() + "()";
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
                SchemaObject.improvement("half-free pages (fillfactor 50) for table " + table.deduplicationDisplay(),
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.TABLE_MISSING_OR_HAS_PARAMETER,
                                dedup, dedup, "fillfactor"),
                        "ALTER TABLE " + dedup + " SET (fillfactor = 50)"),
                // times are the clock's, not the transaction's start: a producer whose transaction began before the
                // previous message of the same id was acknowledged must see its window as it stands when it inserts.
                // A function of an earlier version (comparing with now()) is replaced in place
                new SchemaObject("function " + table.schema() + "." + table.deduplicationTriggerName() + "()",
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                                table.deduplicationFunctionSql() + "()", "clock_timestamp"),
                        takeFunction(table)),
                // a function of the previous version locked a taken id's row to refuse it (see takeFunction): replaced
                // in one savepoint; a role that may not (it does not own the function) leaves it as it is, which
                // works, and may deadlock with acknowledgements as before
                SchemaObject.improvement("function " + table.schema() + "." + table.deduplicationTriggerName()
                                         + "() refusing a taken id without locking it",
                        connection -> !SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_EXISTS,
                                table.deduplicationFunctionSql() + "()")
                                      || SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                                table.deduplicationFunctionSql() + "()", REFUSED_UNLOCKED),
                        takeFunction(table)),
                new SchemaObject("trigger " + table.deduplicationTriggerName() + " on " + table.display(),
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, t,
                                table.deduplicationTriggerName()),
                        "CREATE TRIGGER " + PgIdentifiers.quote(table.deduplicationTriggerName()) + " BEFORE INSERT ON "
                            + t + " FOR EACH ROW WHEN (NEW.dedup_id IS NOT NULL) EXECUTE FUNCTION "
                            + table.deduplicationFunctionSql() + "()"),
                new SchemaObject("function " + table.schema() + "." + window + "()",
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_EXISTS, windowFunction)
                                      || earlierServes(connection, table),
                        windowFunction(table)),
                new SchemaObject("trigger " + window + " on " + table.display(),
                        connection -> SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, t, window)
                                      || earlierServes(connection, table),
                        windowTrigger(table)),
                // the earlier version's trigger replaced, in one savepoint: a role that may not (it does not own the
                // table or the function) leaves it as it is, which works, only slower
                SchemaObject.improvement("trigger " + window + " on " + table.display() + " in place of "
                                         + table.deduplicationDoneTriggerName(),
                        connection -> !SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, t,
                                table.deduplicationDoneTriggerName()),
                        windowFunction(table) + ";\n"
                            + "DROP TRIGGER IF EXISTS " + PgIdentifiers.quote(window) + " ON " + t + ";\n"
                            + windowTrigger(table) + ";\n"
                            + "DROP TRIGGER " + PgIdentifiers.quote(table.deduplicationDoneTriggerName()) + " ON " + t
                            + ";\n"
                            + "DROP FUNCTION IF EXISTS " + table.deduplicationDoneFunctionSql() + "()"));
    }

    /**
     * Takes a message's id, or refuses the message: its row in the deduplication table. An id taken (its message
     * exists, or its window runs) is refused by a read that locks nothing. Else the id is taken with {@code INSERT ...
     * ON CONFLICT DO UPDATE ... WHERE} as before: concurrent producers meet on its row and exactly one wins, and a row
     * the sweep deletes meanwhile is inserted again. That statement locks the row it conflicts with even when it does
     * not update it, until the producer's transaction ends; refusing every taken id through it, a producer sending a
     * duplicate held the row, and an acknowledgement starting the windows of several ids, in its messages' id order,
     * waited for it while the producer, sending another of those ids in the same transaction, waited for the
     * acknowledgement: "deadlock detected" (found by an independent review under load; {@code DeduplicationLockIT}). A
     * producer still holds a row it was refused when it lost a race for that id to another producer (both read it
     * free): the rarer case, reduced, not closed (an independent review's load test: 25 deadlocks of acknowledgements
     * and producers in 60 s against 2,029, 2.6 against 744 per 10,000 producer transactions). The read is made only in
     * READ COMMITTED: under a REPEATABLE READ or SERIALIZABLE snapshot it would refuse an id freed since the snapshot
     * (found by that review), where the insert fails with a serialization error the caller can retry. Tried and not
     * kept (an independent review found it refusing free ids): an insert that does nothing on conflict and an update of
     * an id whose window is over, where a sweep deleting the row between the two left the message refused, its id free.
     */
    private static String takeFunction(QueueTable table) {
        String dedup = table.deduplicationSql();
        return "CREATE OR REPLACE FUNCTION " + table.deduplicationFunctionSql() + "() RETURNS trigger"
               + " LANGUAGE plpgsql AS " + Q + "\n"
               + "BEGIN\n"
               + "    -- an id taken is " + REFUSED_UNLOCKED + " (read as committed now: not under a transaction's\n"
               + "    -- snapshot, where the insert below fails retryably instead of refusing an id freed since)\n"
               + "    IF current_setting('transaction_isolation') = 'read committed' THEN\n"
               + "        PERFORM 1 FROM " + dedup + " d WHERE d.channel = NEW.channel AND d.dedup_id = NEW.dedup_id\n"
               + "            AND d.until >= clock_timestamp();\n"
               + "        IF FOUND THEN\n"
               + "            RETURN NULL;\n"
               + "        END IF;\n"
               + "    END IF;\n"
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
               + "END " + Q;
    }

    /**
     * Whether an earlier version's trigger starts the windows, row by row, with the clock's time: it serves until the
     * improvement replaces it. (One comparing with now(), older still, does not: this version's trigger is required
     * beside it.)
     */
    private static boolean earlierServes(Connection connection, QueueTable table) throws SQLException {
        return SchemaInstaller.exists(connection, SchemaCatalog.TRIGGER_EXISTS, table.sql(),
                table.deduplicationDoneTriggerName())
               && SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                table.deduplicationDoneFunctionSql() + "()", "clock_timestamp");
    }

    /**
     * Starts the windows of the ids of the messages a statement deleted: one UPDATE by the table's whole key for each,
     * in the order of their messages' ids. PL/pgSQL keeps a plan for the session, made once for the table as it was
     * then, so that plan must cost what an id costs whatever the table became since:
     * <ul>
     * <li>a join planned for a small table scanned all of it for every id once it had grown, and one planned for a large
     * delete hashed all of it for every claim;</li>
     * <li>{@code dedup_id = ANY (...)} for a channel was planned, up to PostgreSQL 16, as a scan of the channel's whole
     * key range with the ids as a filter;</li>
     * <li>the whole key's equality is a probe of the key's index, the only plan left with sequential and bitmap scans
     * off.</li>
     * </ul>
     * The rows are locked in ascending order of their messages' ids (the earlier per-row trigger's order whenever the
     * delete used the primary key), sorted within work_mem (a temporary file beyond it) and then fetched a few at a
     * time, however many a statement deleted. A
     * statement that deleted no message with an id updates nothing, and needs no right on the table. Not JIT-compiled:
     * a plan made for a large delete would be compiled again on every call.
     */
    private static String windowFunction(QueueTable table) {
        return "CREATE OR REPLACE FUNCTION " + table.deduplicationWindowFunctionSql() + "() RETURNS trigger"
               + " LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off SET jit = off AS " + Q + "\n"
               + "DECLARE\n"
               + "    deleted record;\n"
               + "BEGIN\n"
               + "    FOR deleted IN SELECT g.channel, g.dedup_id FROM " + DELETED + " AS g WHERE g.dedup_id IS NOT NULL"
               + " ORDER BY g.id LOOP\n"
               + "        UPDATE " + table.deduplicationSql() + " SET until = CASE WHEN window_ms < "
               + FOREVER_MILLIS + "\n"
               + "            THEN clock_timestamp() + window_ms * interval '1 millisecond' ELSE 'infinity' END\n"
               + "        WHERE channel = deleted.channel AND dedup_id = deleted.dedup_id;\n"
               + "    END LOOP;\n"
               + "    RETURN NULL;\n"
               + "END " + Q;
    }

    private static String windowTrigger(QueueTable table) {
        return "CREATE TRIGGER " + PgIdentifiers.quote(table.deduplicationWindowTriggerName()) + " AFTER DELETE ON "
               + table.sql() + " REFERENCING OLD TABLE AS " + DELETED + " FOR EACH STATEMENT EXECUTE FUNCTION "
               + table.deduplicationWindowFunctionSql() + "()";
    }
}
