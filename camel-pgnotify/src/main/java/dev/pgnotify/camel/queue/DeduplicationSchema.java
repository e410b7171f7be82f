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

    /** What the function that takes an id says since it refuses taken ids unlocked (see {@link #takeFunction}). */
    private static final String REFUSED_UNLOCKED = "refused without locking its row";

    /** What only this version's function that takes an id says (see {@link #takeFunction}). */
    private static final String RACE_LOST_UNLOCKED = "a producer racing another for a new id";

    /** The new message's row in the deduplication table, as {@code d}. */
    private static final String SAME_ID = "d.channel = NEW.channel AND d.dedup_id = NEW.dedup_id";

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
                // a function of an earlier version locked a taken id's row to refuse it, one of the previous version
                // the row of a race it lost (see takeFunction): replaced in one savepoint; a role that may not (it does
                // not own the function) leaves it as it is, which works, and may deadlock with acknowledgements as
                // before
                SchemaObject.improvement("function " + table.schema() + "." + table.deduplicationTriggerName()
                                         + "() refusing an id without locking it",
                        connection -> !SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_EXISTS,
                                table.deduplicationFunctionSql() + "()")
                                      || SchemaInstaller.exists(connection, SchemaCatalog.FUNCTION_CONTAINS,
                                table.deduplicationFunctionSql() + "()", RACE_LOST_UNLOCKED),
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
     * Takes a message's id, or refuses the message: its row in the deduplication table. In READ COMMITTED (where
     * producers run unless a caller's transaction says otherwise) nothing is locked but the row of an id taken:
     * <ul>
     * <li>an id taken (its message exists, or its window runs) is refused by a read;</li>
     * <li>a new id is inserted with {@code ON CONFLICT DO NOTHING}: a producer racing another for it waits for the other
     * to end, and, refused, holds nothing;</li>
     * <li>an id whose row exists is taken again by an update of the row if its window is over; refused if the row still
     * exists; tried again from the insert if a sweep deleted the row in between (the id is then free).</li>
     * </ul>
     * Why nothing is to be held: an acknowledgement starts the windows of several ids, in its messages' id order. It
     * waited for a producer that held one of those rows while the producer, sending another of those ids in the same
     * transaction, waited for it: "deadlock detected" (found by an independent review under load;
     * {@code DeduplicationLockIT}). {@code INSERT ... ON CONFLICT DO UPDATE ... WHERE} locks the row it conflicts with
     * even when it updates nothing, until the producer's transaction ends: refusing every taken id that way (an earlier
     * version), 2,029 such deadlocks in 60 s of that review's load; refusing only the losers of races for a free id
     * that way (the previous version), 25. In READ COMMITTED a loser holds a row now only when another producer began
     * to take an expired id again between its insert and its update (an update that waited for another's row and
     * found it taken keeps it locked): an independent review's load test counted refused sends still holding their row
     * after the send, 36 of 80,626 against 10,149 of 93,418 with the previous version, and deadlocks of
     * acknowledgements with producers, none in four minutes against 8; with no loss in 357,957 sends of free ids and
     * no duplicate in 980,542 messages audited; 1.72 statements a send against 1.42. After three tries (each needs a
     * sweep to delete the row in between; never more than one in that load test), and under a REPEATABLE READ or
     * SERIALIZABLE snapshot, the insert decides alone, as before, and holds the row it was refused: the read would
     * refuse an id freed since the snapshot (found by an earlier review), where the insert fails with a serialization
     * error the caller can retry. Tried and not kept (an independent review found it refusing free ids): the insert and
     * the update without the read that tells a taken row from one a sweep deleted in between, which left such a message
     * refused, its id free.
     */
    private static String takeFunction(QueueTable table) {
        String dedup = table.deduplicationSql();
        return "CREATE OR REPLACE FUNCTION " + table.deduplicationFunctionSql() + "() RETURNS trigger"
               + " LANGUAGE plpgsql AS " + Q + "\n"
               + "DECLARE\n"
               + "    new_window bigint := coalesce(nullif(current_setting('"
               + ProducerSettings.DEDUPLICATION_WINDOW_SETTING + "', true), '')::bigint, 0);\n"
               + "BEGIN\n"
               + "    -- read as committed now, not under a transaction's snapshot, where the insert below fails\n"
               + "    -- retryably instead of refusing an id freed since\n"
               + "    IF current_setting('transaction_isolation') = 'read committed' THEN\n"
               + "        -- an id taken is " + REFUSED_UNLOCKED + "\n"
               + "        PERFORM 1 FROM " + dedup + " d\n"
               + "        WHERE " + SAME_ID + " AND d.until >= clock_timestamp();\n"
               + "        IF FOUND THEN\n"
               + "            RETURN NULL;\n"
               + "        END IF;\n"
               + "        FOR attempt IN 1..3 LOOP\n"
               + "            -- " + RACE_LOST_UNLOCKED + ": it waits for the winner, then holds nothing\n"
               + "            INSERT INTO " + dedup + " (channel, dedup_id, until, window_ms)\n"
               + "            VALUES (NEW.channel, NEW.dedup_id, 'infinity', new_window) ON CONFLICT DO NOTHING;\n"
               + "            IF FOUND THEN\n"
               + "                RETURN NEW;\n"
               + "            END IF;\n"
               + "            UPDATE " + dedup + " AS d SET until = 'infinity', window_ms = new_window\n"
               + "            WHERE " + SAME_ID + " AND d.until < clock_timestamp();\n"
               + "            IF FOUND THEN\n"
               + "                RETURN NEW;\n"
               + "            END IF;\n"
               + "            -- taken if its row is there; deleted by a sweep in between: free, tried again\n"
               + "            PERFORM 1 FROM " + dedup + " d\n"
               + "            WHERE " + SAME_ID + ";\n"
               + "            IF FOUND THEN\n"
               + "                RETURN NULL;\n"
               + "            END IF;\n"
               + "        END LOOP;\n"
               + "    END IF;\n"
               + "    INSERT INTO " + dedup + " AS d (channel, dedup_id, until, window_ms)\n"
               + "    VALUES (NEW.channel, NEW.dedup_id, 'infinity', new_window)\n"
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
