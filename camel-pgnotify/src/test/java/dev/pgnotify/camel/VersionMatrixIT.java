package dev.pgnotify.camel;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.queue.ClaimIndexes;
import dev.pgnotify.camel.queue.QueueResources;
import dev.pgnotify.camel.test.PgBinaries;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The core of pgnotify on every supported PostgreSQL major (13 to 18; the pom copies one patch release of each): per
 * version one embedded server, with TLS on, and one application connected with {@code sslmode=verify-full}, which runs
 * small versions of the core scenarios: keyed queue delivery in per-key order, notify delivery, a topic with two groups
 * each receiving every message, queue delivery while another session holds a REPEATABLE READ snapshot, a claim
 * planned on a drained queue reading each of its scans through its own index, every pgnotify
 * connection encrypted, and a fast restart after which the queue and the LISTEN connection deliver again. The full
 * suite runs on the default version (18); this matrix catches what a version changes (functions, catalog views,
 * privileges) in seconds a version.
 */
class VersionMatrixIT {

    private static final Logger LOG = LoggerFactory.getLogger(VersionMatrixIT.class);
    private static final Duration BOUND = Duration.ofSeconds(20);
    private static final int KEYS = 5;
    private static final int PER_KEY = 8;
    private static final int MESSAGES = 20;

    /** Servers still running, stopped at the end whatever failed. */
    private static final List<AutoCloseable> OPEN = new CopyOnWriteArrayList<>();

    @AfterAll
    static void stopWhatIsLeft() throws Exception {
        for (AutoCloseable open : OPEN) {
            open.close();
        }
    }

    @TestFactory
    Stream<DynamicContainer> coreScenariosOnEverySupportedMajor() {
        List<Path> jars = PgBinaries.jars();
        assertEquals(List.of(13, 14, 15, 16, 17, 18), jars.stream().map(PgBinaries::major).toList(),
                "one binaries jar per supported major in " + jars);
        return jars.stream().map(jar -> new Version(jar).tests());
    }

    /** One major version: its server and application, started by the first test and stopped by the last. */
    private static final class Version {

        private final Path jar;
        private final String name;
        private final Map<String, List<Integer>> keyed = new ConcurrentHashMap<>();
        private final Set<String> notified = ConcurrentHashMap.newKeySet();
        private final Set<String> queued = ConcurrentHashMap.newKeySet();
        private final Map<String, Set<String>> byGroup = new ConcurrentHashMap<>();
        private PgTestServer server;
        private CamelContext camel;
        private ProducerTemplate template;
        private long startedAt;

        Version(Path jar) {
            this.jar = jar;
            this.name = "PostgreSQL " + PgBinaries.version(jar);
        }

        DynamicContainer tests() {
            List<DynamicTest> tests = new ArrayList<>();
            tests.add(test("starts the server and an application over TLS", this::start));
            tests.add(test("a keyed queue delivers each key in order", this::keyedQueue));
            tests.add(test("notify delivers every notification", this::notifyMode));
            tests.add(test("a topic's two groups each receive every message", this::topicWithTwoGroups));
            tests.add(test("a held REPEATABLE READ snapshot does not stop the queue", this::heldSnapshot));
            tests.add(test("each scan of a claim planned on a drained queue reads its own index", this::claimIndexes));
            tests.add(test("every pgnotify connection is encrypted", this::encrypted));
            tests.add(test("after a fast restart the queue and notify deliver again", this::restart));
            tests.add(test("stops", this::stop));
            return DynamicContainer.dynamicContainer(name, tests);
        }

        private DynamicTest test(String what, Executable body) {
            return DynamicTest.dynamicTest(what, () -> {
                if (!what.equals("stops")) {
                    // a failed start fails this version's scenarios, not the next version's
                    assertTrue(what.startsWith("starts") || camel != null, name + " did not start");
                }
                body.execute();
            });
        }

        private void start() throws Exception {
            startedAt = System.nanoTime();
            server = PgTestServer.embeddedTls(false, true, Map.of(), jar);
            OPEN.add(server);
            int major = Integer.parseInt(String.valueOf(server.queryValue("SHOW server_version_num"))) / 10_000;
            assertEquals(PgBinaries.major(jar), major, "the server runs the version of " + jar);
            camel = new DefaultCamelContext();
            OPEN.add(camel);
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setJdbcUrl(server.jdbcUrl());
            component.getConfiguration().setUsername(server.username());
            component.getConfiguration().setConnectTimeout(5000);
            component.getConfiguration().setMaxReconnectDelay(500);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    // a send during the restart fails until the server is back: Camel tries again, as an application would
                    from("direct:queue").errorHandler(defaultErrorHandler().maximumRedeliveries(100).redeliveryDelay(100))
                            .to("pgnotify:vm_queue?table=vm_queue");
                    from("direct:notify").errorHandler(defaultErrorHandler().maximumRedeliveries(100).redeliveryDelay(100))
                            .to("pgnotify:vm_events?mode=notify");
                    from("pgnotify:vm_keyed?table=vm_queue&concurrentConsumers=3&maxMessagesPerPoll=4").process(e -> {
                        String[] keyAndSeq = e.getMessage().getBody(String.class).split(":");
                        keyed.computeIfAbsent(keyAndSeq[0], k -> new CopyOnWriteArrayList<>())
                                .add(Integer.parseInt(keyAndSeq[1]));
                    });
                    from("pgnotify:vm_queue?table=vm_queue").process(e -> queued.add(e.getMessage().getBody(String.class)));
                    from("pgnotify:vm_events?mode=notify").process(e -> notified.add(e.getMessage().getBody(String.class)));
                    for (String group : List.of("billing", "audit")) {
                        from("pgnotify:vm_orders?mode=topic&topicTable=vm_topic&group=" + group).process(e -> byGroup
                                .computeIfAbsent(group, g -> ConcurrentHashMap.newKeySet())
                                .add(e.getMessage().getBody(String.class)));
                    }
                }
            });
            camel.start();
            template = camel.createProducerTemplate();
        }

        private void keyedQueue() {
            // interleaved: k0:0, k1:0, ..., k0:1, ... so that concurrent consumers would reorder a key if they could
            for (int seq = 0; seq < PER_KEY; seq++) {
                for (int key = 0; key < KEYS; key++) {
                    template.sendBodyAndHeader("pgnotify:vm_keyed?table=vm_queue", "k" + key + ":" + seq,
                            PgNotifyConstants.KEY, "k" + key);
                }
            }
            await().until(() -> keyed.values().stream().mapToInt(List::size).sum() >= KEYS * PER_KEY);
            List<Integer> inOrder = IntStream.range(0, PER_KEY).boxed().toList();
            for (int key = 0; key < KEYS; key++) {
                assertEquals(inOrder, keyed.get("k" + key), name + ": k" + key + " delivered once each, in order");
            }
        }

        private void notifyMode() {
            send("direct:notify", "n");
            await().until(() -> notified.size() >= MESSAGES);
            assertTrue(notified.containsAll(bodies("n")));
        }

        private void topicWithTwoGroups() {
            for (String body : bodies("t")) {
                template.sendBody("pgnotify:vm_orders?mode=topic&topicTable=vm_topic", body);
            }
            await().until(() -> byGroup.getOrDefault("billing", Set.of()).size() >= MESSAGES
                                && byGroup.getOrDefault("audit", Set.of()).size() >= MESSAGES);
            assertEquals(Set.copyOf(bodies("t")), byGroup.get("billing"), name + ": billing received every message");
            assertEquals(Set.copyOf(bodies("t")), byGroup.get("audit"), name + ": audit received every message");
        }

        /**
         * Rule "Plans": which index can serve a scan is the planner's own logic (predicate proofs, row comparisons,
         * what an order can come from), which a major may change; a claim planned on a drained queue's statistics
         * reads each index it is meant to, and only that one.
         */
        private void claimIndexes() throws Exception {
            template.sendBody("pgnotify:vm_plans?table=vm_plans", "setup");
            QueueResources queue = ClaimIndexes.resources(camel.getEndpoint("pgnotify:vm_plans?table=vm_plans",
                    PgNotifyEndpoint.class));
            try (Connection connection = server.connect()) {
                ClaimIndexes.prepare(server, queue, ClaimIndexes.State.DRAINED);
                ClaimIndexes.assertEveryScanReadsItsOwnIndex(connection, queue, name + ", drained");
                ClaimIndexes.assertNoOtherIndexCanServe(connection, queue);
                ClaimIndexes.assertSweepScansReadAnIndexInOrder(connection, queue, name + ", drained");
            }
        }

        private void heldSnapshot() throws Exception {
            try (Connection analytics = server.connect()) {
                analytics.setAutoCommit(false);
                analytics.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                Object pid;
                try (Statement statement = analytics.createStatement();
                     ResultSet rs = statement.executeQuery("SELECT pg_backend_pid(), count(*) FROM vm_queue")) {
                    rs.next();
                    pid = rs.getObject(1);
                }
                assertTrue(server.queryValue("SELECT backend_xmin FROM pg_stat_activity WHERE pid = " + pid) != null,
                        name + ": the other session holds its snapshot");
                send("direct:queue", "h");
                await().until(() -> queued.containsAll(bodies("h")));
                analytics.rollback();
            }
        }

        private void encrypted() throws Exception {
            String sql = "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl),"
                         + " count(*) FILTER (WHERE s.ssl AND a.application_name = '"
                         + ListenerConnections.LISTENER_APPLICATION_NAME + "')"
                         + " FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
                         + " WHERE a.application_name LIKE 'camel-pgnotify%'";
            try (Connection connection = server.connect(); Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(sql)) {
                rs.next();
                assertTrue(rs.getLong(1) >= 2, name + ": pgnotify's connections are encrypted");
                assertEquals(0, rs.getLong(2), name + ": no pgnotify connection without TLS");
                assertEquals(1, rs.getLong(3), name + ": the LISTEN connection is encrypted");
            }
        }

        private void restart() {
            long stoppedAt = System.nanoTime();
            server.stop(PgTestServer.StopMode.FAST);
            server.start();
            send("direct:queue", "r");
            await().until(() -> queued.containsAll(bodies("r")));
            // a notification is only heard once the LISTEN connection is back: sent again until one arrives
            await().until(() -> {
                template.sendBody("direct:notify", "after-restart");
                return notified.contains("after-restart");
            });
            LOG.info("{}: the queue and notify delivered again {} ms after the fast stop", name,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt));
        }

        private void stop() throws Exception {
            try {
                if (camel != null) {
                    camel.close();
                    OPEN.remove(camel);
                }
            } finally {
                if (server != null) {
                    server.close();
                    OPEN.remove(server);
                    LOG.info("{}: all scenarios in {} ms, start and stop included", name,
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt));
                }
            }
        }

        private void send(String endpoint, String prefix) {
            for (String body : bodies(prefix)) {
                template.sendBody(endpoint, body);
            }
        }

        private static List<String> bodies(String prefix) {
            return IntStream.range(0, MESSAGES).mapToObj(i -> prefix + i).toList();
        }

        private static ConditionFactory await() {
            return Awaitility.await().atMost(BOUND).pollInterval(Duration.ofMillis(20));
        }
    }
}
