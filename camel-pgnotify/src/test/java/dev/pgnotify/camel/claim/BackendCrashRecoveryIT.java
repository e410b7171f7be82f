package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A crash of one backend (the OOM killer, a segfault, a PANIC) makes the postmaster end every session and recover from
 * the WAL in place: the server is "restarted" as far as what it committed asynchronously is concerned (a claim's
 * acknowledgements commit with synchronous_commit=off), but pg_postmaster_start_time() does not change. An
 * acknowledgement lost so must be delivered again within the lease, as after a failover or a full restart
 * (docs/production.md, Failover), not at the sweep's safety net (60 sweeps).
 * <p>
 * The loss is made certain rather than left to chance: the WAL writer writes out asynchronous commits only every 10 s
 * here, and nothing commits synchronously between the acknowledgement and the kill.
 */
class BackendCrashRecoveryIT {

    private static final Logger LOG = LoggerFactory.getLogger(BackendCrashRecoveryIT.class);
    private static final String TABLE = "backend_crash_queue";
    private static final long LEASE_MILLIS = 2000;
    private static final long POLL_MILLIS = 500;

    private static PgTestServer server;

    @BeforeAll
    static void startServer() {
        server = PgTestServer.embedded(Map.of("wal_writer_delay", "10s", "wal_writer_flush_after", "1GB",
                "autovacuum", "off", "checkpoint_timeout", "1h", "synchronous_commit", "on"));
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void anAcknowledgementLostInACrashRecoveryIsDeliveredAgainWithinTheLease() throws Exception {
        Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
        Map<String, Long> ids = new ConcurrentHashMap<>();
        try (CamelContext camel = new DefaultCamelContext()) {
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setJdbcUrl(server.jdbcUrl());
            component.getConfiguration().setUsername(server.username());
            component.getConfiguration().setConnectTimeout(2000);
            component.getConfiguration().setMaxReconnectDelay(500);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:backend_crash?table=" + TABLE + "&leaseTime=" + LEASE_MILLIS + "&pollInterval="
                         + POLL_MILLIS).routeId("consumer")
                            .process(e -> {
                                String body = e.getMessage().getBody(String.class);
                                ids.put(body, e.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class));
                                received.computeIfAbsent(body, k -> new AtomicInteger()).incrementAndGet();
                            });
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Sweep sweep = ((ClaimingConsumer) camel.getRoute("consumer").getConsumer()).theSweep();
            // the WAL writer may write an acknowledgement out before the kill (it wakes every 10 s): then try again
            String lost = null;
            for (int attempt = 0; attempt < 3 && lost == null; attempt++) {
                String body = "lost-ack-" + attempt;
                template.sendBody("pgnotify:backend_crash?table=" + TABLE, body);
                await(Duration.ofSeconds(10)).until(() -> received.containsKey(body));
                // acknowledged (deleted) in the worker's next claim, committed asynchronously
                await(Duration.ofSeconds(10)).until(() -> count() == 0);
                // and the sweep passed it: only its safety net (every 60 sweeps) reads that id again, unless the
                // consumer starts again from the channel's first message
                long id = ids.get(body);
                await(Duration.ofSeconds(5)).until(() -> sweep.sweptUpTo() >= id);
                Object startBefore = server.queryValue("SELECT pg_postmaster_start_time()");
                killOneBackend();
                await(Duration.ofSeconds(30)).ignoreExceptions().until(() -> count() >= 0);
                assertEquals(startBefore, server.queryValue("SELECT pg_postmaster_start_time()"),
                        "crash recovery in place: the postmaster's start time is the same");
                if (count() == 1) {
                    lost = body;
                } else {
                    LOG.info("The acknowledgement of {} was written out before the kill; trying again", body);
                }
            }
            assertTrue(lost != null, "an acknowledgement was lost in the crash recovery");
            String message = lost;
            long recovered = System.nanoTime();
            // within the lease plus a few sweeps and reconnects; the safety net would take 60 sweeps (30 s)
            await(Duration.ofSeconds(15)).until(() -> received.get(message).get() == 2);
            LOG.info("{} was delivered again {} ms after the crash recovery", message,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - recovered));
        }
    }

    private static long count() throws Exception {
        return ((Number) server.queryValue("SELECT count(*) FROM " + TABLE)).longValue();
    }

    /** SIGKILL to one backend, as the OOM killer sends: the postmaster ends the others and recovers in place. */
    private static void killOneBackend() throws Exception {
        Connection victim = server.connect();
        long pid;
        try (Statement statement = victim.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            pid = rs.getLong(1);
        }
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow();
        process.destroyForcibly();
        process.onExit().get(10, TimeUnit.SECONDS);
        try {
            victim.close();
        } catch (java.sql.SQLException e) {
            // it ended with its backend
        }
    }

    private static ConditionFactory await(Duration atMost) {
        return Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(20));
    }
}
