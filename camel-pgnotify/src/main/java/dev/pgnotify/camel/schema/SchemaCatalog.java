package dev.pgnotify.camel.schema;

/**
 * The catalog queries by which a mode's schema is verified before it is created or used: what exists, in which shape,
 * and the lock under which applications starting at the same time create it once.
 */
public final class SchemaCatalog {

    public static final String CURRENT_SCHEMA = "SELECT current_schema()";

    /**
     * Serializes schema creation across every application that starts at the same time; held until commit.
     */
    public static final String LOCK_SCHEMA_CHANGES = "SELECT pg_advisory_xact_lock(hashtext('pgnotify schema ' || ?))";

    /** How long the statements of the current transaction wait for a lock. Parameters: milliseconds, as text. */
    public static final String SET_LOCAL_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', ?, true)";

    /** The sequence that draws a table's ids. Parameters: the table, the column. */
    public static final String SERIAL_SEQUENCE = "SELECT pg_get_serial_sequence(?, ?)";

    /** Whether an index is partial: true or false, no row when it does not exist. Parameters: the index. */
    public static final String INDEX_IS_PARTIAL
            = "SELECT indpred IS NOT NULL FROM pg_index WHERE indexrelid = to_regclass(?)";

    public static final String TABLE_EXISTS = "SELECT to_regclass(?) IS NOT NULL";

    public static final String FUNCTION_EXISTS = "SELECT to_regprocedure(?) IS NOT NULL";

    /**
     * Whether a function exists and its body contains a text: how a function of an earlier version is told from the
     * current one. Parameters: the function's signature, the text.
     */
    public static final String FUNCTION_CONTAINS
            = "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure(?) AND strpos(prosrc, ?) > 0)";

    /**
     * Whether a function is missing (to be created as it should be) or turns a boolean setting off for itself (its SET
     * clause, as pg_proc keeps it: "name=value", the value as written: off, false, no or 0). Parameters: the function's
     * signature, twice, and the setting.
     */
    public static final String FUNCTION_MISSING_OR_TURNS_OFF
            = "SELECT to_regprocedure(?) IS NULL OR EXISTS (SELECT 1 FROM pg_proc p"
              + " CROSS JOIN LATERAL unnest(p.proconfig) AS c(setting) WHERE p.oid = to_regprocedure(?)"
              + " AND lower(c.setting) IN (SELECT ? || '=' || v FROM unnest(ARRAY['off', 'false', 'no', '0']) AS v))";

    public static final String TRIGGER_EXISTS
            = "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(?) AND tgname = ? AND NOT tgisinternal)";

    /**
     * Whether a table is missing (to be created as it should be) or has a storage parameter set, whatever its value
     * (a value its owner chose is kept). Parameters: the table, twice, and the parameter's name.
     */
    public static final String TABLE_MISSING_OR_HAS_PARAMETER
            = "SELECT to_regclass(?) IS NULL OR EXISTS (SELECT 1 FROM pg_class c CROSS JOIN LATERAL unnest(c.reloptions)"
              + " AS o(option) WHERE c.oid = to_regclass(?) AND o.option LIKE ? || '=%')";

    /** The columns of a table and their types, as format_type writes them. */
    public static final String TABLE_COLUMNS = "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                                               + " WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped";

    /** The columns of a table's primary key, in key order; no row when it has none. Parameters: the table. */
    public static final String PRIMARY_KEY_COLUMNS = "SELECT a.attname FROM pg_index i"
                                                     + " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY"
                                                     + " AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid"
                                                     + " AND a.attnum = k.attnum"
                                                     + " WHERE i.indrelid = to_regclass(?) AND i.indisprimary"
                                                     // INCLUDE columns are in indkey too, after the key's own
                                                     + " AND k.n <= i.indnkeyatts ORDER BY k.n";

    private SchemaCatalog() {
    }
}
