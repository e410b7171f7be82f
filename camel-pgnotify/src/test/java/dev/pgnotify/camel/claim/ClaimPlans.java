package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plan a claim statement gets under the consumer's settings ({@link ItemSql#PLANNED_ONCE}): its generic plan, as
 * PostgreSQL makes it once per connection and keeps it, whatever the tables hold later.
 */
public final class ClaimPlans {

    private ClaimPlans() {
    }

    /**
     * Asserts that a claim's generic plan reads through indexes only, in index order: never a whole table (a sequential
     * scan), and never every row past the frontier (a bitmap scan, which returns rows in no order, sorted before the
     * claim's limit: a plan made while the table was small, then run against a backlog, read and sorted the whole
     * backlog on every claim).
     */
    public static void assertIndexesOnly(Connection connection, String claim, String variant) throws SQLException {
        String plan = genericPlan(connection, claim);
        assertTrue(plan.contains("Index"), variant + ":\n" + plan);
        assertFalse(plan.contains("Seq Scan"), variant + ":\n" + plan);
        assertFalse(plan.contains("Bitmap"), variant + ":\n" + plan);
    }

    /**
     * Asserts that a statement writing several items by id outside a claim (acknowledgements, renewals, releases),
     * under its settings ({@link ItemSql#IN_ID_ORDER}), reaches them through the primary key only: in ascending id
     * order, the order of a claim's acknowledgements, so that two such statements waiting for each other's rows cannot
     * deadlock. Its generic plan, the one PostgreSQL may settle on after five executions, made on the table as it is.
     */
    public static void assertIdOrder(Connection connection, String write, String primaryKey, String variant)
            throws SQLException {
        String plan = plan(connection, write,
                ItemSql.IN_ID_ORDER + ", set_config('plan_cache_mode', 'force_generic_plan', true)");
        assertTrue(plan.contains("Index Scan using " + primaryKey), variant + ":\n" + plan);
        assertFalse(plan.contains("Seq Scan"), variant + ":\n" + plan);
        assertFalse(plan.contains("Bitmap"), variant + ":\n" + plan);
    }

    /** The generic plan of a JDBC statement (? parameters), with the parameter types the server infers. */
    public static String genericPlan(Connection connection, String sql) throws SQLException {
        return plan(connection, sql, ItemSql.PLANNED_ONCE);
    }

    /**
     * One scan of a table in a plan: the CTE it runs in (null: the main query), the alias it reads the table under
     * ({@code q}, {@code q_1}, ... for the statement's own scans, {@code e}, {@code e_1}, ... for per-key probes), its
     * node type and the index it reads, if any.
     */
    public record Scan(String cte, String alias, String nodeType, String index) {

        /** The alias as written in the SQL: PostgreSQL numbers repeated ones ({@code q_2}). */
        public String writtenAlias() {
            return alias.replaceAll("_\\d+$", "");
        }
    }

    /**
     * The scans of a statement's generic plan under the consumer's settings ({@link ItemSql#PLANNED_ONCE}), after
     * {@code before} ran in the same transaction (rolled back): {@code DROP INDEX}, say, to see what else could serve a
     * scan.
     */
    public static List<Scan> genericScans(Connection connection, String sql, String before) throws SQLException {
        return scans(connection, sql, before == null ? ItemSql.PLANNED_ONCE : before + "; " + ItemSql.PLANNED_ONCE);
    }

    /**
     * The scans of the generic plan a statement gets with none of pgnotify's settings (as PostgreSQL may settle on it
     * after five executions of a prepared statement), after {@code before} (or nothing) in the same transaction.
     */
    public static List<Scan> freelyPlannedScans(Connection connection, String sql, String before)
            throws SQLException {
        String generic = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)";
        return scans(connection, sql, before == null ? generic : before + "; " + generic);
    }

    private static List<Scan> scans(Connection connection, String sql, String settings) throws SQLException {
        String json = plan(connection, sql, settings, "FORMAT JSON");
        List<Scan> scans = new ArrayList<>();
        try {
            collect(new ObjectMapper().readTree(json).get(0).get("Plan"), null, scans);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(json, e);
        }
        return scans;
    }

    private static void collect(JsonNode node, String cte, List<Scan> scans) {
        String subplan = node.path("Subplan Name").asText("");
        String within = subplan.startsWith("CTE ") ? subplan.substring(4) : cte;
        if (node.has("Relation Name") && node.path("Node Type").asText().contains("Scan")) {
            scans.add(new Scan(within, node.path("Alias").asText(), node.path("Node Type").asText(),
                    node.has("Index Name") ? node.get("Index Name").asText() : null));
        }
        for (JsonNode child : node.path("Plans")) {
            collect(child, within, scans);
        }
    }

    private static String plan(Connection connection, String sql, String settings) throws SQLException {
        return plan(connection, sql, settings, null);
    }

    private static String plan(Connection connection, String sql, String settings, String format) throws SQLException {
        List<String> types = new ArrayList<>();
        try (PreparedStatement described = connection.prepareStatement(sql)) {
            ParameterMetaData parameters = described.getParameterMetaData();
            for (int i = 1; i <= parameters.getParameterCount(); i++) {
                types.add(parameters.getParameterTypeName(i));
            }
        }
        StringBuilder numbered = new StringBuilder();
        int n = 0;
        for (char c : sql.toCharArray()) {
            if (c == '?') {
                numbered.append('$').append(++n);
            } else {
                numbered.append(c);
            }
        }
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try (Statement statement = connection.createStatement()) {
            for (String setting : settings.split("; ")) {
                statement.execute(setting);
            }
            statement.execute("PREPARE claim_plan(" + String.join(", ", types) + ") AS " + numbered);
            StringBuilder plan = new StringBuilder();
            try (ResultSet rs = statement.executeQuery("EXPLAIN " + (format == null ? "" : "(" + format + ") ")
                                                       + "EXECUTE claim_plan("
                                                       + String.join(", ", types.stream().map(t -> "NULL").toList())
                                                       + ")")) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            }
            statement.execute("DEALLOCATE claim_plan");
            return plan.toString();
        } finally {
            connection.rollback();
            connection.setAutoCommit(autoCommit);
        }
    }
}
