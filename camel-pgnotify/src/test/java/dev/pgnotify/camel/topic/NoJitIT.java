package dev.pgnotify.camel.topic;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.PgNotifyStatistics;
import dev.pgnotify.camel.admin.EndpointAdmin;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.claim.WorkStore;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.connection.EndpointConnections;
import dev.pgnotify.camel.connection.ReadTransaction;
import dev.pgnotify.camel.test.StatementNotices;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.ds.PGSimpleDataSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a server with JIT (jit=on, PostgreSQL's default, and a build with LLVM, as Debian's and most packages are), the
 * planner's estimates made a topic's cut, its lag query and a keyed claim's generic plan pass jit_above_cost, and each
 * call compiled again: most of a cut's time, and a lag query during a backlog took 628 ms where it needs 64
 * (docs/benchmark/topic-vs-pgque.md). The topic's functions, pgnotify's own connections, and the claims, lag and
 * operators' reads on an application's connection run without JIT; the application's own setting is left as it was.
 * Whether a statement is JIT-compiled is decided when it is planned (the plan's jitFlags), which every server shows
 * (debug_print_plan), with or without LLVM: that test runs everywhere. The last test needs a server with JIT (a
 * configured one: the embedded binaries are built without LLVM) and watches what is compiled through auto_explain.
 */
class NoJitIT extends PgNotifyITSupport {

    private static final String TABLE = "no_jit_topic";
    private static final String URI = "pgnotify:nojit?mode=topic&topicTable=" + TABLE;
    private static final Pattern JIT_FLAGS = Pattern.compile(":jitFlags (\\d+)");
    /** A plan whose tree is a result alone: a SELECT of expressions, no table. */
    private static final Pattern SETTINGS_PLAN = Pattern.compile(":planTree\\s+\\{RESULT");
    /** set_config's oid (pg_proc.dat: fixed in every release). */
    private static final int SET_CONFIG = 2078;

    @Test
    void theTopicsFunctionsAndPgnotifysOwnConnectionsRunWithoutJit() throws Exception {
        dropTopic(TABLE);
        template.sendBody(URI, "setup");
        assertEquals(3L, ((Number) server().queryValue(functionsWithoutJit())).longValue(),
                "the cut, load and maintenance functions run with jit=off");
        EndpointConnections connections = context.getEndpoint(URI, PgNotifyEndpoint.class).getConnections();
        Database database = connections.acquireDatabase();
        try {
            assertEquals("off", database.call(this, "reading jit", connection -> {
                try (Statement statement = connection.createStatement()) {
                    return show(statement, "jit");
                }
            }), "pgnotify's pooled connections run without JIT");
        } finally {
            connections.releaseDatabase();
        }
        try (Connection connection = server().connect(); Statement statement = connection.createStatement()) {
            statement.execute(EndpointConnections.sessionSettingsSql(0));
            assertEquals("off", show(statement, "jit"), "the session settings pgnotify's pooled and LISTEN connections run"
                                                        + " turn JIT off");
        }
    }

    @Test
    void noStatementOfAClaimALagOrAReadIsPlannedForJitOnAnApplicationsConnection() throws Exception {
        dropTopic(TABLE);
        TopicResources topic = groupWithBacklog(1_000);
        TopicWorkStore work = new TopicWorkStore(topic, "nojit", "g", (messages, limit, batch) -> {
        });
        try (Connection session = server().connect(); Statement statement = session.createStatement()) {
            // the application's session: every plan made reaches it as a notice
            StatementNotices notices = new StatementNotices();
            Connection watched = notices.watchWithJitForAnyCost(session, "SELECT count(*) FROM " + TABLE, "SET client_min_messages = log",
                    "SET debug_print_plan = on");
            assertEquals(List.of(true), compiled(notices.plans()),
                    "the session plans for JIT (else this test would see nothing)");

            // a claim's round trip: its settings, then the cut (its function's statements), the claim and the first
            // bodies' load; the settings statement is planned before it turns JIT off
            notices.clear();
            WorkStore.Claim claim = work.claim(watched, new WorkStore.ClaimRequest(List.of(), new Long[0], 0, 10,
                    1 << 20, 30_000, 3, true, 0, false));
            assertFalse(claim.items().isEmpty(), "the claim found the backlog");
            assertAllButTheFirstWithoutJit("a claim", notices.plans(), 5);

            // as behind a pooler in transaction mode: nothing prepared on the server, the plans custom
            watched.unwrap(PGConnection.class).setPrepareThreshold(0);
            notices.clear();
            claim = work.claim(watched, new WorkStore.ClaimRequest(List.of(), new Long[0], 0, 10, 1 << 20, 30_000, 3,
                    true, 0, false));
            assertFalse(claim.items().isEmpty(), "the claim found more of the backlog");
            assertAllButTheFirstWithoutJit("a claim preparing nothing", notices.plans(), 3);

            notices.clear();
            assertEquals(1_000, work.lag(watched, 0, 3_000).messages());
            assertAllButTheFirstWithoutJit("the lag", notices.plans(), 2);

            // the operators' reads (statistics, browsing) in their own transaction
            notices.clear();
            ReadTransaction.run(watched, 3_000, read -> {
                try (Statement count = read.createStatement()) {
                    count.executeQuery("SELECT count(*) FROM " + TABLE).close();
                }
                return null;
            });
            assertAllButTheFirstWithoutJit("an operator's read", notices.plans(), 2);
            assertEquals("on", show(statement, "jit"), "the session's own setting is kept");
            assertTrue(session.getAutoCommit(), "the session is back in auto-commit");
        }
    }

    @Test
    void theOperatorsStatisticsOnAnApplicationsDataSourceAreNotPlannedForJit() throws Exception {
        dropTopic(TABLE);
        groupWithBacklog(1_000);
        // the application's DataSource, whose sessions plan for JIT at any cost and show every plan made
        PGSimpleDataSource application = new PGSimpleDataSource();
        application.setURL(server().jdbcUrl());
        if (server().username() != null) {
            application.setUser(server().username());
            application.setPassword(server().password());
        }
        application.setOptions("-c jit=on -c jit_above_cost=0 -c client_min_messages=log -c debug_print_plan=on");
        StatementNotices notices = new StatementNotices();
        context.getRegistry().bind("watchedDataSource", notices.watch(application));
        EndpointAdmin admin = context.getEndpoint(URI + "&group=g&dataSource=#watchedDataSource", PgNotifyEndpoint.class)
                .getAdmin();
        // the first measurement resolves the topic; a purge of nothing makes the next one measure again
        admin.statistics();
        admin.purgeDeadLetters("g", List.of(-1L));

        notices.clear();
        List<PgNotifyStatistics> statistics = admin.statistics();
        assertTrue(statistics.get(0).waiting() > 0, "measured the backlog: " + statistics);
        // the measurement's reads of the topic (other statements, the server's role say, are planned around it)
        List<String> topicTables = new ArrayList<>();
        try (Connection connection = server().connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT oid FROM pg_class WHERE relname LIKE '" + TABLE + "%'"
                                                   + " AND relkind IN ('r', 'p', 'v')")) {
            while (rs.next()) {
                topicTables.add(":relid " + rs.getLong(1) + " ");
            }
        }
        List<String> reads = notices.plans().stream()
                .filter(plan -> topicTables.stream().anyMatch(plan::contains)).toList();
        assertTrue(reads.size() >= 2, "the statistics read the topic: " + notices.plans().size() + " plans");
        assertEquals(List.of(), compiled(reads).stream().filter(jit -> jit).toList(),
                "no read of the topic is planned for JIT: " + compiled(reads));
    }

    @Test
    void measuringTheLagLeavesTheApplicationsConnectionAsItWas() throws Exception {
        dropTopic(TABLE);
        TopicResources topic = groupWithBacklog(20);
        try (Connection connection = server().connect(); Statement statement = connection.createStatement()) {
            statement.execute("SET jit = on");
            TopicWorkStore.Lag lag = new TopicWorkStore(topic, "nojit", "g", (messages, limit, batch) -> {
            }).lag(connection, 0, 3_000);
            assertEquals(20, lag.messages());
            assertTrue(connection.getAutoCommit(), "the connection is back in auto-commit");
            assertEquals("on", show(statement, "jit"), "the session's own setting is kept");
        }
    }

    @Test
    void aBacklogIsCutAndMeasuredWithoutCompilingAStatement() throws Exception {
        assumeTrue((Boolean) server().queryValue("SELECT pg_jit_available() AND rolsuper FROM pg_roles"
                                                 + " WHERE rolname = current_user"),
                "needs a server with JIT (set PGNOTIFY_TEST_JDBC_URL to one built with LLVM: Debian's packages are)"
                + " and a superuser, who may load auto_explain");
        dropTopic(TABLE);
        TopicResources topic = groupWithBacklog(1_000);
        try (Connection session = server().connect(); Statement statement = session.createStatement()) {
            // every statement's plan as run, nested ones too, reaches this session as a notice
            StatementNotices notices = new StatementNotices();
            Connection watched = notices.watchWithJitForAnyCost(session, "SELECT count(*) FROM " + TABLE, "LOAD 'auto_explain'",
                    "SET auto_explain.log_min_duration = 0", "SET auto_explain.log_nested_statements = on",
                    "SET auto_explain.log_level = 'notice'");
            assertTrue(notices.plans().stream().anyMatch(plan -> plan.contains("JIT:")),
                    "the session compiles what it plans (else this test would see nothing): " + notices.plans());

            notices.clear();
            String call = "SELECT * FROM " + TABLE + "_cut('nojit', 'g', 100, 100000)";
            try (Statement cut = watched.createStatement(); ResultSet rs = cut.executeQuery(call)) {
                assertTrue(rs.next());
                assertEquals(1_000, rs.getInt("messages"));
            }
            List<String> nested = notices.plans().stream().filter(plan -> !plan.contains(call)).toList();
            assertTrue(nested.size() >= 3, "the cut's statements were seen: " + notices.plans());
            assertFalse(nested.stream().anyMatch(plan -> plan.contains("JIT:")),
                    "no statement of the cut is JIT-compiled: " + nested);

            notices.clear();
            TopicWorkStore.Lag lag = new TopicWorkStore(topic, "nojit", "g", (messages, limit, batch) -> {
            }).lag(watched, 0, 3_000);
            assertEquals(1_000, lag.messages());
            List<String> lagPlans = notices.plans().stream().filter(plan -> plan.contains("lag.messages")).toList();
            assertEquals(1, lagPlans.size(), "the lag query was seen: " + notices.plans());
            assertFalse(lagPlans.get(0).contains("JIT:"), "the lag query is not JIT-compiled: " + lagPlans);
            assertEquals("on", show(statement, "jit"), "the session's own setting is kept");

            // a claim's settings statement, sent with it: a statement after it is not compiled, on this session only
            notices.clear();
            String count = "SELECT count(*) FROM " + TABLE + " WHERE channel = 'nojit'";
            try (PreparedStatement claim = watched.prepareStatement(WorkRows.withSettings(watched, count))) {
                WorkRows.executeClaim(claim);
                try (ResultSet rs = claim.getResultSet()) {
                    assertTrue(rs.next());
                }
            }
            List<String> claimPlans = notices.plans().stream().filter(plan -> plan.contains(count)).toList();
            assertEquals(1, claimPlans.size(), "the statement after the settings was seen: " + notices.plans());
            assertFalse(claimPlans.get(0).contains("JIT:"), "a claim is not JIT-compiled: " + claimPlans);
            assertEquals("on", show(statement, "jit"), "the session's own setting is kept");
        }
    }

    /** Whether each plan, in the order made, is to be JIT-compiled (its jitFlags, as debug_print_plan shows them). */
    private static List<Boolean> compiled(List<String> plans) {
        List<Boolean> compiled = new ArrayList<>();
        for (String plan : plans) {
            Matcher flags = JIT_FLAGS.matcher(plan);
            if (flags.find()) {
                compiled.add(!flags.group(1).equals("0"));
            }
        }
        return compiled;
    }

    /**
     * The plans made for one piece of work: the first is its settings statement (a set_config result, planned before
     * it turns JIT off), and none after it is planned for JIT.
     */
    private static void assertAllButTheFirstWithoutJit(String what, List<String> plans, int atLeast) {
        List<Boolean> compiled = compiled(plans);
        assertTrue(compiled.size() >= atLeast, what + ": its statements were planned: " + compiled);
        assertTrue(SETTINGS_PLAN.matcher(plans.get(0)).find() && plans.get(0).contains(":funcid " + SET_CONFIG),
                what + ": its first statement is the settings' (set_config alone): " + plans.get(0));
        assertEquals(List.of(), compiled.subList(1, compiled.size()).stream().filter(jit -> jit).toList(),
                what + ": no statement after the first is planned for JIT: " + compiled);
    }

    /** A topic whose group g has a backlog of this many messages, published in ten transactions. */
    private TopicResources groupWithBacklog(int messages) throws Exception {
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(URI + "&group=g").routeId("g").autoStartup(false).to("mock:g");
            }
        });
        template.sendBody(URI, "setup");
        TopicResources topic = context.getEndpoint(URI, PgNotifyEndpoint.class).resources().get(TopicResources.class,
                () -> {
                    throw new IllegalStateException("the producer resolved the topic already");
                });
        // registered with its starting point (from now on), then stopped: what follows waits for it
        context.getRouteController().startRoute("g");
        context.getRouteController().stopRoute("g");
        String[] batches = new String[10];
        for (int i = 0; i < batches.length; i++) {
            batches[i] = "INSERT INTO " + TABLE + " (channel, body_text) SELECT 'nojit', 'm' || g"
                         + " FROM generate_series(1, " + messages / batches.length + ") g";
        }
        server().execute(batches);
        return topic;
    }

    private static String functionsWithoutJit() {
        return "SELECT count(*) FROM pg_proc WHERE oid IN ('" + TABLE + "_cut(text, text, integer, integer)'::regprocedure,"
               + " '" + TABLE + "_load(bigint[], bigint, boolean)'::regprocedure,"
               + " '" + TABLE + "_maintain(interval, interval, interval)'::regprocedure)"
               + " AND 'jit=off' = ANY(proconfig)";
    }

    private static String show(Statement statement, String setting) throws SQLException {
        try (ResultSet rs = statement.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
