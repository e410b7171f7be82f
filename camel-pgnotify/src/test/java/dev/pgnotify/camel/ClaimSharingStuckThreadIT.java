package dev.pgnotify.camel;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.claim.ClaimingConsumer;
import dev.pgnotify.camel.test.CapturedLogs;
import dev.pgnotify.camel.test.GatedDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A claim shared with an idle thread (docs/claim-engine.md, rule "Sharing"): the helper leaves its acknowledgement for
 * the next claim, and the thread whose claim carries it is then given up as stuck (its connection never comes). The
 * message must be left to its lease and delivered again, not renewed for ever in the consumer's hands (found by an
 * independent review: the acknowledgement was in no thread's hands, so giving the thread up did not let it go).
 */
class ClaimSharingStuckThreadIT extends PgNotifyITSupport {

    private static final String TABLE = "sharing_stuck_queue";
    private static final String WORKERS = "PgNotifyQueueConsumer[strand]";

    @Test
    void anAcknowledgementLeftByAHelperIsNotStrandedWhenTheClaimCarryingItIsGivenUp() throws Exception {
        dropQueue(TABLE);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server().jdbcUrl());
        config.setUsername(server().username());
        config.setPassword(server().password());
        config.setMaximumPoolSize(6);
        Map<String, String> firstThread = new ConcurrentHashMap<>();
        Map<String, Integer> deliveries = new ConcurrentHashMap<>();
        CountDownLatch releaseM1 = new CountDownLatch(1);
        CountDownLatch holding = new CountDownLatch(1);
        CountDownLatch openGate = new CountDownLatch(1);
        try (HikariDataSource pool = new HikariDataSource(config); CapturedLogs logs = new CapturedLogs();
             CamelContext camel = new DefaultCamelContext()) {
            // only the consumer's worker threads wait at the gate (not the lease renewal, sweeper or listener)
            GatedDataSource gated = new GatedDataSource(pool, thread -> thread.getName().contains(WORKERS));
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setDataSource(gated);
            component.getConfiguration().setConnectTimeout(1000);
            component.getConfiguration().setStatementTimeout(1000);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:strand?table=" + TABLE + "&concurrentConsumers=2&pollInterval=5000&leaseTime=3000")
                            .routeId("strand")
                            .process(e -> {
                                String body = e.getMessage().getBody(String.class);
                                firstThread.putIfAbsent(body, Thread.currentThread().getName());
                                int n = deliveries.merge(body, 1, Integer::sum);
                                if (body.equals("m1")) {
                                    releaseM1.await(60, TimeUnit.SECONDS);
                                } else if (body.equals("m2") && n == 1) {
                                    // close the gate for the workers: the helper's next claim (carrying m2's
                                    // acknowledgement) blocks where neither the watchdog nor an interrupt reaches it
                                    Thread holder = new Thread(() -> {
                                        synchronized (gated.gate()) {
                                            holding.countDown();
                                            try {
                                                openGate.await(60, TimeUnit.SECONDS);
                                            } catch (InterruptedException ie) {
                                                Thread.currentThread().interrupt();
                                            }
                                        }
                                    }, "gate-holder");
                                    holder.setDaemon(true);
                                    holder.start();
                                    holding.await(10, TimeUnit.SECONDS);
                                }
                            });
                }
            });
            camel.start();
            await(Duration.ofSeconds(30)).until(() -> idleWorkers() == 2);
            server().execute("INSERT INTO " + TABLE + " (channel, body_text) VALUES ('strand', 'm1'), ('strand', 'm2')");
            await(Duration.ofSeconds(20)).until(() -> logs.anyContains("pgnotify:strand: a consumer thread has been stuck"));
            openGate.countDown();
            releaseM1.countDown();
            // sharing happened: m2 went to the other thread while m1 was in the route
            assertNotEquals(firstThread.get("m1"), firstThread.get("m2"), "m2 handed off: " + firstThread);
            ClaimingConsumer consumer = (ClaimingConsumer) camel.getRoute("strand").getConsumer();
            // m1 acknowledged by its thread's next claim
            await(Duration.ofSeconds(20)).until(() -> count("SELECT count(*) FROM " + TABLE + " WHERE body_text = 'm1'") == 0);
            // the given-up thread's items are left to their leases (3 s): m2 ends acknowledged (delivered again once its
            // lease ran out), not renewed for ever in the consumer's hands
            await(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) FROM " + TABLE + " WHERE body_text = 'm2'")
                                                      == 0);
            await(Duration.ofSeconds(10)).until(() -> consumer.getInFlightCount() == 0);
        }
    }

    private static long idleWorkers() {
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(t -> t.getKey().getName().contains(WORKERS))
                .filter(t -> Arrays.stream(t.getValue())
                        .anyMatch(frame -> frame.getClassName().endsWith("WakeUpSignal")
                                           && frame.getMethodName().equals("await")))
                .count();
    }

    private static int count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).intValue();
    }
}
