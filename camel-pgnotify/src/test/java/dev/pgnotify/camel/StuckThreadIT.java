package dev.pgnotify.camel;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgnotify.camel.test.CapturedLogs;
import dev.pgnotify.camel.test.GatedDataSource;
import dev.pgnotify.camel.test.HealthRecorder;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A consumer thread stuck where neither a closed connection nor an interrupt can reach it (here: the application's
 * own DataSource, whose getConnection waits on a monitor that a misbehaving part of the application holds) is noticed
 * by the watchdog and replaced, with a warning that names the channel; the consumer says DOWN meanwhile, and works
 * again once the DataSource does.
 */
class StuckThreadIT extends PgNotifyITSupport {

    private static final String TABLE = "stuck_it_queue";

    @Test
    void aThreadStuckBeyondTheWatchdogsReachIsReplaced() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server().jdbcUrl());
        config.setUsername(server().username());
        config.setPassword(server().password());
        config.setMaximumPoolSize(4);
        Set<String> received = ConcurrentHashMap.newKeySet();
        try (HikariDataSource pool = new HikariDataSource(config); CapturedLogs logs = new CapturedLogs();
             CamelContext camel = new DefaultCamelContext()) {
            GatedDataSource gated = new GatedDataSource(pool, thread -> true);
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setDataSource(gated);
            component.getConfiguration().setConnectTimeout(1000);
            component.getConfiguration().setStatementTimeout(1000);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:stuck?table=" + TABLE + "&pollInterval=200").routeId("consumer")
                            .process(e -> received.add(e.getMessage().getBody(String.class)));
                }
            });
            camel.start();
            camel.createProducerTemplate().sendBody("pgnotify:stuck?table=" + TABLE, "before");
            await(Duration.ofSeconds(10)).until(() -> received.contains("before"));

            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Thread holder = new Thread(() -> {
                synchronized (gated.gate()) {
                    holding.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }, "stuck-it-gate-holder");
            try (HealthRecorder health = new HealthRecorder(camel, "consumer")) {
                holder.start();
                holding.await(10, TimeUnit.SECONDS);
                long stuckAt = System.nanoTime();
                // bound 1 s + 1 s + 5 s of grace, checked every second
                await(Duration.ofSeconds(20)).until(() -> logs.anyContains(
                        "pgnotify:stuck: a consumer thread has been stuck"));
                assertTrue(health.firstDownAfter(stuckAt).isPresent(), "DOWN while stuck");
            } finally {
                release.countDown();
                holder.join(10_000);
            }
            camel.createProducerTemplate().sendBody("pgnotify:stuck?table=" + TABLE, "after");
            await(Duration.ofSeconds(20)).until(() -> received.contains("after"));
            await(Duration.ofSeconds(10)).until(() -> HealthRecorder.check(camel, "consumer")
                    .map(HealthCheck.Result::getState).orElse(null) == HealthCheck.State.UP);
        }
    }
}
