package dev.pgnotify.camel.test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.postgresql.util.PSQLWarning;

/**
 * The notices of a connection's statements (the plans auto_explain or debug_print_plan send), kept when each statement
 * closes and after each call on the connection: pgjdbc hands a notice to the statement it came with, or to the
 * connection (a plan logged at the commit), and code under test closes its statements itself.
 */
public final class StatementNotices {

    private final List<String> plans = new ArrayList<>();

    /** What the watched statements brought, in order: each notice's message and detail. */
    public synchronized List<String> plans() {
        return List.copyOf(plans);
    }

    public synchronized void clear() {
        plans.clear();
    }

    private synchronized void keep(Statement statement) throws SQLException {
        keep(statement.getWarnings());
        statement.clearWarnings();
    }

    private synchronized void keep(Connection connection) throws SQLException {
        if (!connection.isClosed()) {
            keep(connection.getWarnings());
            connection.clearWarnings();
        }
    }

    private void keep(SQLWarning warnings) {
        for (SQLWarning warning = warnings; warning != null; warning = warning.getNextWarning()) {
            // auto_explain's plan is the message; debug_print_plan's, the detail
            String detail = warning instanceof PSQLWarning notice && notice.getServerErrorMessage() != null
                    ? notice.getServerErrorMessage().getDetail() : null;
            plans.add(detail != null ? warning.getMessage() + "\n" + detail : warning.getMessage());
        }
    }

    /**
     * The session with these settings and JIT for any cost, its statements watched from then on, after the
     * {@code control} query (whose plan is the first kept).
     */
    public Connection watchWithJitForAnyCost(Connection session, String control, String... settings)
            throws SQLException {
        try (Statement statement = session.createStatement()) {
            for (String setting : settings) {
                statement.execute(setting);
            }
            statement.execute("SET jit = on");
            statement.execute("SET jit_above_cost = 0");
        }
        Connection watched = watch(session);
        try (Statement statement = watched.createStatement()) {
            statement.executeQuery(control).close();
        }
        return watched;
    }

    /** The DataSource, the statements of its connections watched. */
    public DataSource watch(DataSource dataSource) {
        return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(),
                new Class<?>[] { DataSource.class }, (proxy, method, args) -> {
                    Object result = invoke(dataSource, method, args);
                    return result instanceof Connection connection ? watch(connection) : result;
                });
    }

    /** The connection, its statements watched. */
    public Connection watch(Connection connection) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                new Class<?>[] { Connection.class }, (proxy, method, args) -> {
                    Object result = invoke(connection, method, args);
                    // a statement's plan is logged when its portal closes: at the commit, say
                    keep(connection);
                    if (result instanceof PreparedStatement prepared) {
                        return watched(prepared, PreparedStatement.class);
                    }
                    if (result instanceof Statement statement) {
                        return watched(statement, Statement.class);
                    }
                    return result;
                });
    }

    private Object watched(Statement statement, Class<? extends Statement> type) {
        return Proxy.newProxyInstance(Statement.class.getClassLoader(), new Class<?>[] { type },
                (proxy, method, args) -> {
                    if (method.getName().equals("close")) {
                        keep(statement);
                    }
                    return invoke(statement, method, args);
                });
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
