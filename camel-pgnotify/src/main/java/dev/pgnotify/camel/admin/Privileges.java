package dev.pgnotify.camel.admin;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.connection.Database;

/**
 * Checks at start that the connecting role holds every privilege a producer or consumer needs, and otherwise fails
 * naming each missing privilege, why it is needed and the GRANT to run: better at start than on the first message.
 */
public final class Privileges {

    /** The kinds of object a privilege is checked on. */
    public enum Kind {
        SCHEMA,
        TABLE,
        /** The id column of a table: a producer reads back the id of what it inserted. */
        ID_COLUMN,
        SEQUENCE,
        /** A function, named with its argument types. */
        FUNCTION
    }

    /**
     * One privilege needed.
     *
     * @param object    the object, quoted as SQL names it (a schema unquoted)
     * @param privilege the privilege; a comma-separated list means any of them, the first is the one to grant
     * @param why       what it is needed for
     */
    public record Needed(Kind kind, String object, String privilege, String why) {
    }

    private final List<Needed> needed = new ArrayList<>();

    public Privileges need(Kind kind, String object, String privilege, String why) {
        needed.add(new Needed(kind, object, privilege, why));
        return this;
    }

    /**
     * Fails when the current role lacks any of the privileges.
     *
     * @param what what the role does, for the message ("a queue consumer of public.message_queue")
     */
    public void require(Database database, Object owner, String what) throws SQLException {
        database.call(owner, "checking privileges", connection -> {
            String roleName;
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(AdminSql.CURRENT_USER)) {
                rs.next();
                roleName = rs.getString(1);
            }
            String user = PgIdentifiers.quote(roleName);
            List<String> missing = new ArrayList<>();
            List<String> grants = new ArrayList<>();
            try (PreparedStatement statement = connection.prepareStatement(AdminSql.MISSING_PRIVILEGES)) {
                statement.setArray(1, connection.createArrayOf("text",
                        needed.stream().map(n -> n.kind().name().toLowerCase()).toArray()));
                statement.setArray(2, connection.createArrayOf("text", needed.stream().map(Needed::object).toArray()));
                statement.setArray(3, connection.createArrayOf("text",
                        needed.stream().map(Needed::privilege).toArray()));
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        Needed check = needed.get(rs.getInt(1) - 1);
                        String privilege = check.privilege().split(",")[0].trim();
                        missing.add(privilege + " on " + describe(check) + " (" + check.why() + ")");
                        grants.add(grant(check, privilege, user));
                    }
                }
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("The role '" + roleName + "' lacks " + String.join(", ", missing)
                                                + ", which " + what + " needs. Grant "
                                                + (missing.size() == 1 ? "it" : "them") + " as the installing role: "
                                                + String.join("; ", grants) + ";");
            }
            return null;
        });
    }

    private static String describe(Needed check) {
        return switch (check.kind()) {
            case SCHEMA -> "schema " + check.object();
            case TABLE -> "table " + check.object();
            case ID_COLUMN -> "table " + check.object() + " (id)";
            case SEQUENCE -> "sequence " + check.object();
            case FUNCTION -> "function " + check.object();
        };
    }

    private static String grant(Needed check, String privilege, String user) {
        return switch (check.kind()) {
            case SCHEMA -> "GRANT " + privilege + " ON SCHEMA " + PgIdentifiers.quote(check.object()) + " TO " + user;
            case TABLE -> "GRANT " + privilege + " ON " + check.object() + " TO " + user;
            case ID_COLUMN -> "GRANT " + privilege + " (id) ON " + check.object() + " TO " + user;
            case SEQUENCE -> "GRANT " + privilege + " ON SEQUENCE " + check.object() + " TO " + user;
            case FUNCTION -> "GRANT " + privilege + " ON FUNCTION " + check.object() + " TO " + user;
        };
    }
}
