package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plan a claim statement gets under the consumer's settings ({@link ItemSql#PLANNED_ONCE}): its generic plan, as
 * PostgreSQL makes it once per connection and keeps it, whatever the tables hold later.
 */
public final class ClaimPlans {

    private ClaimPlans() {
    }

    /** Asserts that a claim's generic plan reads through indexes only, never a whole table. */
    public static void assertIndexesOnly(Connection connection, String claim, String variant) throws SQLException {
        String plan = genericPlan(connection, claim);
        assertTrue(plan.contains("Index"), variant + ":\n" + plan);
        assertFalse(plan.contains("Seq Scan"), variant + ":\n" + plan);
    }

    /** The generic plan of a JDBC statement (? parameters), with the parameter types the server infers. */
    public static String genericPlan(Connection connection, String sql) throws SQLException {
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
            statement.execute(ItemSql.PLANNED_ONCE);
            statement.execute("PREPARE claim_plan(" + String.join(", ", types) + ") AS " + numbered);
            StringBuilder plan = new StringBuilder();
            try (ResultSet rs = statement.executeQuery("EXPLAIN EXECUTE claim_plan("
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
