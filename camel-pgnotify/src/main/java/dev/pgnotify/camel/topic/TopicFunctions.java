package dev.pgnotify.camel.topic;

import dev.pgnotify.camel.PgIdentifiers;

/**
 * The PL/pgSQL and SQL functions of a topic, and its lag view, as DDL: the cut (what became visible since a group's
 * previous snapshot, split into items), the load of message bodies within a byte budget, and the maintenance that
 * rotates the log and empties what no group needs. Apart from {@link TopicSchema}, which creates them, because each is
 * a page of SQL of its own.
 */
final class TopicFunctions {

    /** Where function bodies are dollar-quoted: see {@link PgIdentifiers#dollarQuoted}. */
    private static final String Q = PgIdentifiers.BODY_QUOTE;

    /**
     * The SET clause that keeps a function's statements from being JIT-compiled. The planner estimates the rows of a
     * snapshot's in-progress transactions from the whole log (a few transactions holding many rows make it millions),
     * so on a server with JIT (jit=on, PostgreSQL's default, and a build with LLVM, as Debian's and most packages are)
     * a cut past jit_above_cost compiled its query on every call: 1.97 ms a call, 86 % of it compiling, against 0.29
     * without, over the benchmark's topic rows on PostgreSQL 15 (docs/benchmark/topic-vs-pgque.md). A cached plan keeps
     * its JIT flags, so the cost came back on every call. Point look-ups by index gain nothing from JIT.
     */
    static final String NO_JIT = "SET jit = off";

    private TopicFunctions() {
    }

    /**
     * Cuts the next part of the log for a group: the rows of the group's channel whose transactions became visible
     * since its latest cut (those with ids from the previous snapshot's xmax on, and those that were in progress in
     * it), in id order, split into items of up to a batch. A backlog larger than the limit is cut in pieces: the cut
     * then ends at the transaction id after which the limit would be passed, with the transactions still in progress
     * below it carried on to the next cut. One cutter per group at a time: the others wait for it and find its items;
     * returns how many messages it cut, and whether the limit cut it short.
     */
    static String cutFunction(TopicTable table) {
        String log = table.sql();
        return "CREATE OR REPLACE FUNCTION " + table.cutFunctionSql()
               + "(p_channel text, p_group text, p_batch integer, p_limit integer, OUT messages integer,"
               + " OUT more boolean)"
               // its plans are cached for the session: one made while the log was small (a new topic, before its
               // first ANALYZE) would otherwise scan the whole partition on every cut, from then on
               + " LANGUAGE plpgsql SET enable_seqscan = off " + NO_JIT + " AS " + Q + "\n"
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
     * only. A function planned with sequential scans off, so that its plan can never be a seq scan: a prepared statement
     * keeps the plan it made while a partition was small (a new topic, or a slot just emptied and filling again) and
     * would scan the whole partition on every read from then on. PL/pgSQL, so that the session keeps its plan: a SQL
     * function (with a SET clause, never inlined) plans its query on every call, 0.9 ms of planning for 0.13 ms of work
     * in every claim (docs/benchmark/topic-vs-pgque.md). Runs with the caller's rights.
     */
    /** In the load function's body since it is PL/pgSQL (an earlier version's, plain SQL, works as well, only slower). */
    static final String LOAD_MARKER = "#variable_conflict use_column";
    /**
     * In the load function's body since it reads the rows once: the earlier PL/pgSQL one read them twice, 1.56 ms for
     * a claim of 100 where this one takes 0.27 (docs/benchmark/topic-vs-pgque.md).
     */
    static final String LOAD_ONE_PASS_MARKER = "found AS MATERIALIZED";

    static String loadFunction(TopicTable table) {
        // its result gained a column (the key): an earlier version's must be dropped first
        return "DROP FUNCTION IF EXISTS " + table.loadFunctionSql() + "(bigint[], bigint, boolean);\n"
               + "CREATE " + loadFunctionBody(table);
    }

    /** Replaces a load function that knows keys in place (same arguments and result): its callers never miss it. */
    static String loadFunctionReplaced(TopicTable table) {
        return "CREATE OR REPLACE " + loadFunctionBody(table);
    }

    private static String loadFunctionBody(TopicTable table) {
        String log = table.sql();
        return "FUNCTION " + table.loadFunctionSql() + "(p_ids bigint[], p_budget bigint, p_bytes boolean)"
               + " RETURNS TABLE (n bigint, id bigint, body_json text, body_text text, body_bytes bytea, headers text,"
               + " created_at timestamptz, is_binary boolean, message_key text) LANGUAGE plpgsql STABLE"
               + " SET enable_seqscan = off " + NO_JIT + " AS " + Q + "\n"
               // the result's columns are also variables here: a name in the query means the column
               + LOAD_MARKER + "\n"
               + "BEGIN\n"
               + "    RETURN QUERY\n"
               // one pass over the ids (each partition's index probed once for all of them): the rows found are kept
               // with their bodies unread (a TOASTed body stays a pointer until it is output), and only those within
               // the budget are output
               + "    WITH " + LOAD_ONE_PASS_MARKER + " (\n"
               + "        SELECT m.id, m.body_json, m.body_text, m.body_bytes, m.headers, m.created_at, m.message_key,\n"
               // a stored body's size without reading it
               + "            coalesce(octet_length(m.body_text), octet_length(m.body_bytes), pg_column_size(m.body_json),"
               + " 0) AS size\n"
               + "        FROM " + log + " m WHERE m.id = ANY(p_ids)\n"
               + "    )\n"
               + "    SELECT o.n, o.id, o.body_json::text, o.body_text, CASE WHEN p_bytes THEN o.body_bytes END,"
               + " o.headers::text, o.created_at, o.body_bytes IS NOT NULL, o.message_key\n"
               + "    FROM (SELECT u.n, f.*, sum(f.size) OVER (ORDER BY u.n) - f.size AS before\n"
               + "        FROM unnest(p_ids) WITH ORDINALITY AS u(mid, n) JOIN found f ON f.id = u.mid) o\n"
               + "    WHERE o.before < p_budget\n"
               + "    ORDER BY o.n;\n"
               + "END " + Q;
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
    static String maintainFunction(TopicTable table) {
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
               + " " + NO_JIT + " AS " + Q + "\n"
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
    static String lagView(TopicTable table) {
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
    static String inProgressRows(String log, String channel, String snapshot) {
        return "pg_snapshot_xip(" + snapshot + ") AS x(xid) CROSS JOIN LATERAL (SELECT r.id, r.xid, r.created_at,"
               + " r.message_key FROM "
               + log + " r WHERE r.channel = " + channel + " AND r.xid = x.xid OFFSET 0) r";
    }
}
