package dev.pgnotify.camel.support;

import dev.pgnotify.camel.PgIdentifiers;

/**
 * The SQL that every mode shares: LISTEN, connection facts and the catalog queries that verify a schema. Values are
 * always bound as parameters; the only names written into SQL text are validated and quoted ({@link PgIdentifiers}).
 */
public final class SupportSql {

    public static final String CONNECTION_USES_SSL = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    public static final String CURRENT_SCHEMA = "SELECT current_schema()";

    /**
     * Serializes schema creation across every application that starts at the same time; held until commit.
     */
    public static final String LOCK_SCHEMA_CHANGES = "SELECT pg_advisory_xact_lock(hashtext('pgnotify schema ' || ?))";

    public static final String TABLE_EXISTS = "SELECT to_regclass(?) IS NOT NULL";

    public static final String FUNCTION_EXISTS = "SELECT to_regprocedure(?) IS NOT NULL";

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
}
