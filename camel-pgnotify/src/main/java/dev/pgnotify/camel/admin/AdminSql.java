package dev.pgnotify.camel.admin;

/**
 * The SQL of operators' privilege checks (their reads' bounds: {@link dev.pgnotify.camel.connection.ReadTransaction}).
 */
public final class AdminSql {

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

    private AdminSql() {
    }
}
