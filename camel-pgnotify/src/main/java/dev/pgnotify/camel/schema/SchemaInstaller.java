package dev.pgnotify.camel.schema;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.PgIdentifiers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or verifies the objects of a mode's schema in one transaction, under an advisory lock, so that applications
 * starting at the same time create them once: what is missing is created when allowed, else named in the error; the
 * transaction commits only when everything is in place. Also the catalog look-ups the schemas' checks share.
 */
public final class SchemaInstaller {

    /**
     * How long an improvement waits for a lock another session holds before it is left for the next start: what the
     * queue's statements may wait behind it.
     */
    private static final long IMPROVEMENT_LOCK_TIMEOUT_MILLIS = 200;

    /** PostgreSQL's SQLSTATE for a lock not obtained within lock_timeout. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    private static final Logger LOG = LoggerFactory.getLogger(SchemaInstaller.class);

    /** Whether a schema object exists (in the expected shape). */
    @FunctionalInterface
    public interface Check {
        boolean test(Connection connection) throws SQLException;
    }

    /** A check of the whole schema made under the lock; it throws, naming the problem, when it fails. */
    @FunctionalInterface
    public interface Verification {
        void verify(Connection connection) throws SQLException;
    }

    /**
     * One object of a schema: how to see that it exists, and how to create it. A migration brings an object of an
     * earlier version up to date; a new schema has it already, so the documentation leaves it out. An object that is
     * not required only makes things faster: with createSchema=false its absence is logged, not an error.
     */
    public record SchemaObject(String description, Check exists, String ddl, boolean migration, boolean required) {

        public SchemaObject {
            ddl = PgIdentifiers.dollarQuoted(ddl);
        }

        public SchemaObject(String description, Check exists, String ddl, boolean migration) {
            this(description, exists, ddl, migration, true);
        }

        public SchemaObject(String description, Check exists, String ddl) {
            this(description, exists, ddl, false);
        }

        /** A migration an earlier version's schema works without, only slower. */
        public static SchemaObject improvement(String description, Check exists, String ddl) {
            return new SchemaObject(description, exists, ddl, true, false);
        }

        /**
         * A required migration that gives an existing table this primary key (dropping whichever it had), in place:
         * the table is locked meanwhile, under the schema transaction's lock_timeout. For small tables (dead letters)
         * whose key an earlier version chose narrower.
         *
         * @param display     the table's name for messages
         * @param quotedTable the table's quoted (and schema-qualified) name
         * @param columns     the key's columns, in order: pgnotify's own column names
         */
        public static SchemaObject primaryKey(String display, String quotedTable, String... columns) {
            String key = String.join(", ", Arrays.stream(columns).map(PgIdentifiers::quote).toList());
            String literal = quotedTable.replace("'", "''");
            return new SchemaObject("primary key (" + String.join(", ", columns) + ") of " + display,
                    connection -> hasPrimaryKey(connection, quotedTable, columns),
                    "DO " + PgIdentifiers.BODY_QUOTE + "\n"
                        + "DECLARE\n"
                        + "    old_key name;\n"
                        + "BEGIN\n"
                        + "    SELECT conname INTO old_key FROM pg_constraint WHERE conrelid = '" + literal
                        + "'::regclass AND contype = 'p';\n"
                        + "    IF old_key IS NOT NULL THEN\n"
                        + "        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', '" + literal + "', old_key);\n"
                        + "    END IF;\n"
                        + "    ALTER TABLE " + quotedTable + " ADD PRIMARY KEY (" + key + ");\n"
                        + "END " + PgIdentifiers.BODY_QUOTE, true);
        }
    }

    /** What is installed, for messages: "the queue table x", "the topic x". */
    public record Target(String kind, String what, String display) {
    }

    private SchemaInstaller() {
    }

    /**
     * Makes sure the objects exist: creates what is missing when {@code create} is true, otherwise fails naming it.
     *
     * @param lockTimeoutMillis how long to wait for a lock another session holds (the schema lock included)
     */
    public static void ensure(Connection connection, Target target, List<SchemaObject> objects, Verification verification,
                              boolean create, long lockTimeoutMillis)
            throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try {
            // the bound first: it applies to the schema lock too, which another application's start may hold
            setLockTimeout(connection, lockTimeoutMillis);
            try (PreparedStatement lock = connection.prepareStatement(SchemaCatalog.LOCK_SCHEMA_CHANGES)) {
                lock.setString(1, target.display());
                lock.execute();
            }
            List<SchemaObject> missing = new ArrayList<>();
            for (SchemaObject object : objects) {
                if (!object.exists().test(connection)) {
                    missing.add(object);
                }
            }
            verification.verify(connection);
            if (missing.isEmpty()) {
                connection.commit();
                return;
            }
            if (!create) {
                List<SchemaObject> required = withoutImprovements(missing, target);
                if (!required.isEmpty()) {
                    throw new IllegalStateException("The " + target.kind() + " schema of " + target.display() + " is"
                                                    + " incomplete and createSchema=false: missing " + names(required)
                                                    + ". Create them as the installing role (the component"
                                                    + " documentation shows the SQL) or set createSchema=true.");
                }
                connection.commit();
                return;
            }
            List<String> created = new ArrayList<>();
            try (Statement statement = connection.createStatement()) {
                for (SchemaObject object : missing) {
                    if (object.required()) {
                        statement.execute(object.ddl());
                        created.add(object.description());
                    } else if (improve(connection, statement, object, target, lockTimeoutMillis)) {
                        created.add(object.description());
                    }
                }
            } catch (SQLException e) {
                throw new SQLException("Cannot create " + names(missing) + " for " + target.what() + " " + target.display()
                                       + ": " + e.getMessage() + ". Create them as a role that may (the component"
                                       + " documentation shows the SQL), then start with createSchema=false.",
                        e.getSQLState(), e);
            }
            connection.commit();
            if (!created.isEmpty()) {
                LOG.info("Created {} for {} {}", String.join(", ", created), target.what(), target.display());
            }
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(autoCommit);
        }
    }

    /** How long the statements of the current transaction wait for a lock, from now on. */
    private static void setLockTimeout(Connection connection, long millis) throws SQLException {
        try (PreparedStatement lockTimeout = connection.prepareStatement(SchemaCatalog.SET_LOCAL_LOCK_TIMEOUT)) {
            lockTimeout.setString(1, Long.toString(millis));
            lockTimeout.execute();
        }
    }

    /** The objects without those that only make things faster, whose absence is logged. */
    private static List<SchemaObject> withoutImprovements(List<SchemaObject> missing, Target target) {
        List<SchemaObject> improvements = missing.stream().filter(object -> !object.required()).toList();
        if (!improvements.isEmpty()) {
            LOG.info("Without {} (createSchema=false), {} {} works as it is, only slower; the installing role may run"
                     + " their SQL from the component documentation", names(improvements), target.what(),
                    target.display());
        }
        return missing.stream().filter(SchemaObject::required).toList();
    }

    private static String names(List<SchemaObject> objects) {
        return String.join(", ", objects.stream().map(SchemaObject::description).toList());
    }

    /**
     * Makes an improvement, or leaves things as they are when this role may not (a function another role owns) or a
     * lock it needs is not free within {@link #IMPROVEMENT_LOCK_TIMEOUT_MILLIS}: the schema works without it, so its
     * start must not fail for it. The short wait matters: a trigger replaced on the queue table waits for every
     * transaction that uses the table, and meanwhile every statement that would use it waits behind it.
     */
    private static boolean improve(Connection connection, Statement statement, SchemaObject object, Target target,
                                   long lockTimeoutMillis)
            throws SQLException {
        Savepoint before = connection.setSavepoint();
        try {
            setLockTimeout(connection, Math.min(IMPROVEMENT_LOCK_TIMEOUT_MILLIS, lockTimeoutMillis));
            statement.execute(object.ddl());
            // (a savepoint rolled back takes its setting along)
            setLockTimeout(connection, lockTimeoutMillis);
            connection.releaseSavepoint(before);
            return true;
        } catch (SQLException e) {
            connection.rollback(before);
            if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                LOG.warn("Could not create {} for {} {}: a transaction held a lock it needs for more than {} ms. It"
                         + " works as it is, only slower; the next start tries again, or run its SQL at a quiet moment"
                         + " (docs/schema.md, Upgrading)", object.description(), target.what(), target.display(),
                        IMPROVEMENT_LOCK_TIMEOUT_MILLIS);
            } else {
                LOG.info("Could not create {} for {} {} ({}): it works as it is, only slower; the next start tries"
                         + " again, and the role that owns it may run its SQL from the component documentation",
                        object.description(), target.what(), target.display(), e.getMessage());
            }
            return false;
        }
    }

    /** Every statement that creates the schema from nothing, as the documentation shows it. */
    public static List<String> ddl(List<SchemaObject> objects) {
        return objects.stream().filter(object -> !object.migration()).map(SchemaObject::ddl).toList();
    }

    /** A table's columns and their types, as format_type writes them. */
    public static Map<String, String> columnsOf(Connection connection, String quotedName) throws SQLException {
        Map<String, String> columns = new LinkedHashMap<>();
        try (PreparedStatement statement = connection.prepareStatement(SchemaCatalog.TABLE_COLUMNS)) {
            statement.setString(1, quotedName);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return columns;
    }

    /** Whether the table has these columns; a table still to be created will have them. */
    public static boolean hasColumns(Connection connection, String quotedName, String... columns) throws SQLException {
        return !tableExists(connection, quotedName)
               || columnsOf(connection, quotedName).keySet().containsAll(List.of(columns));
    }

    /** Whether the table's primary key is on exactly these columns, in this order; a table still to be created is. */
    public static boolean hasPrimaryKey(Connection connection, String quotedName, String... columns)
            throws SQLException {
        if (!tableExists(connection, quotedName)) {
            return true;
        }
        List<String> key = new ArrayList<>();
        try (PreparedStatement statement = connection.prepareStatement(SchemaCatalog.PRIMARY_KEY_COLUMNS)) {
            statement.setString(1, quotedName);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    key.add(rs.getString(1));
                }
            }
        }
        return key.equals(List.of(columns));
    }

    public static boolean tableExists(Connection connection, String quotedName) throws SQLException {
        return exists(connection, SchemaCatalog.TABLE_EXISTS, quotedName);
    }

    /** Runs a catalog check whose one column says whether something exists. */
    public static boolean exists(Connection connection, String sql, String... parameters) throws SQLException {
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
