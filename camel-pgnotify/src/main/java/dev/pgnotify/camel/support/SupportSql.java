package dev.pgnotify.camel.support;

import dev.pgnotify.camel.PgIdentifiers;

/**
 * The SQL that every mode shares: LISTEN, connection facts and the catalog queries that verify a schema. Values are
 * always bound as parameters; the only names written into SQL text are validated and quoted ({@link PgIdentifiers}).
 */
public final class SupportSql {

    /** Sends several notifications in one round trip: (channel, payload) pairs as two text arrays. */
    public static final String NOTIFY_ALL = "SELECT pg_notify(c, p) FROM unnest(?::text[], ?::text[]) AS w(c, p)";

    /**
     * Set in the transaction of a pgnotify producer's INSERT: the table's trigger then leaves the wake-up to the
     * producer, which sends it after commit from a connection of its own, so that concurrent producers do not queue up
     * behind PostgreSQL's commit-time NOTIFY lock.
     */
    public static final String WAKE_UP_SETTING = "pgnotify.wake_up";

    /**
     * How long (ms) a message's deduplication id stays taken after the message is gone; set by the producer for its
     * statement (a SQL publisher may set it too), read by the queue's deduplication trigger; unset is 0.
     */
    public static final String DEDUPLICATION_WINDOW_SETTING = "pgnotify.dedup_window";
    public static final String WAKE_UP_DEFERRED = "deferred";

    /**
     * Before a producer's INSERT inside the caller's transaction (a joined producer): keeps the settings the INSERT
     * sets for its transaction, so that {@link #RESTORE_SETTINGS} puts them back after it. Otherwise they would last
     * for the rest of the caller's transaction, silencing the wake-ups of its own later inserts into the table and
     * applying this producer's deduplication window to them.
     */
    public static final String SAVE_SETTINGS = "SELECT set_config('pgnotify.saved_wake_up', coalesce(current_setting('"
                                               + WAKE_UP_SETTING + "', true), ''), true),"
                                               + " set_config('pgnotify.saved_dedup_window',"
                                               + " coalesce(current_setting('" + "pgnotify.dedup_window"
                                               + "', true), ''), true)";

    /** After a joined producer's INSERT: see {@link #SAVE_SETTINGS}. */
    public static final String RESTORE_SETTINGS = "SELECT set_config('" + WAKE_UP_SETTING
                                                  + "', current_setting('pgnotify.saved_wake_up', true), true),"
                                                  + " set_config('pgnotify.dedup_window',"
                                                  + " current_setting('pgnotify.saved_dedup_window', true), true)";

    /**
     * Makes a consumer's own bookkeeping (claims, acknowledgements, retries) commit without waiting for the WAL flush.
     * Safe for at-least-once delivery: if the server crashes before the flush, a lost claim or acknowledgement only
     * means the message is delivered again.
     */
    public static final String ASYNCHRONOUS_COMMIT = "set_config('synchronous_commit', 'off', true)";

    public static final String CURRENT_SCHEMA = "SELECT current_schema()";

    /** Bounds the statements of the current transaction. Parameter: the bound, as text ("3000" is milliseconds). */
    public static final String SET_LOCAL_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', ?, true)";

    /** How full the server's queue of notifications not yet read by every listener is, from 0 to 1. */
    public static final String NOTIFICATION_QUEUE_USAGE = "SELECT pg_notification_queue_usage()";

    /** Sends one notification. Parameters: channel, payload. */
    public static final String NOTIFY_ONE = "SELECT pg_notify(?, ?)";

    /**
     * Serializes schema creation across every application that starts at the same time; held until commit.
     */
    public static final String LOCK_SCHEMA_CHANGES = "SELECT pg_advisory_xact_lock(hashtext('pgnotify schema ' || ?))";

    /** How long the statements of the current transaction wait for a lock. Parameters: milliseconds, as text. */
    public static final String SET_LOCAL_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', ?, true)";

    /** The sequence that draws a table's ids. Parameters: the table, the column. */
    public static final String SERIAL_SEQUENCE = "SELECT pg_get_serial_sequence(?, ?)";

    public static final String CURRENT_USER = "SELECT current_user";

    /**
     * Which of these privileges the current role lacks, by their position (from 1). Parameters: kinds (schema, table,
     * id_column of a table, sequence, function), objects, privileges (a comma-separated list means any of them).
     */
    public static final String MISSING_PRIVILEGES
            = "SELECT c.n FROM unnest(?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS c(kind, object, privilege, n)"
              + " WHERE NOT CASE c.kind"
              + " WHEN 'schema' THEN has_schema_privilege(c.object, c.privilege)"
              + " WHEN 'table' THEN has_table_privilege(c.object, c.privilege)"
              + " WHEN 'id_column' THEN has_column_privilege(c.object, 'id', c.privilege)"
              + " WHEN 'sequence' THEN has_sequence_privilege(c.object, c.privilege)"
              + " WHEN 'function' THEN has_function_privilege(c.object, c.privilege) END"
              + " ORDER BY c.n";

    /**
     * Rows given by id, through the primary key. Parameters: the ids, twice. An empty list skips the scan (a one-time
     * filter): for {@code id = ANY('{}')} the planner may otherwise walk the whole claim index, partial on
     * {@code channel IS NOT NULL}, which is full of dead entries while an old snapshot elsewhere keeps vacuum from
     * removing them, and which the statistics then describe as nearly empty.
     */
    public static final String BY_IDS = "cardinality(?::bigint[]) > 0 AND q.id = ANY(?::bigint[])";

    /**
     * Rows given by id, each with the attempt it was claimed as (fencing: a delivery whose lease ran out and was
     * claimed again cannot acknowledge or renew the new one). Parameters: ids, ids, their attempts, ids.
     */
    public static final String BY_IDS_AND_ATTEMPTS
            = BY_IDS + " AND q.attempts = (?::int[])[array_position(?::bigint[], q.id)]";

    /** Whether an index is partial: true or false, no row when it does not exist. Parameters: the index. */
    public static final String INDEX_IS_PARTIAL
            = "SELECT indpred IS NOT NULL FROM pg_index WHERE indexrelid = to_regclass(?)";

    /** How long until an item ({@code q}) falls due, in milliseconds: zero or less when it is due. */
    public static final String DUE_IN = "ceil(extract(epoch FROM q.available_at - now()) * 1000)::bigint";

    public static final String TABLE_EXISTS = "SELECT to_regclass(?) IS NOT NULL";

    public static final String FUNCTION_EXISTS = "SELECT to_regprocedure(?) IS NOT NULL";

    /**
     * Whether a function exists and its body contains a text: how a function of an earlier version is told from the
     * current one. Parameters: the function's signature, the text.
     */
    public static final String FUNCTION_CONTAINS
            = "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(?) AND strpos(prosrc, ?) > 0)";

    public static final String TRIGGER_EXISTS
            = "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(?) AND tgname = ? AND NOT tgisinternal)";

    /** The columns of a table and their types, as format_type writes them. */
    public static final String TABLE_COLUMNS = "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                                               + " WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped";

    private SupportSql() {
    }

    public static String listen(String channel) {
        return "LISTEN " + PgIdentifiers.quote(channel);
    }

    public static String unlisten(String channel) {
        return "UNLISTEN " + PgIdentifiers.quote(channel);
    }
}
