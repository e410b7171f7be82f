package dev.pgnotify.camel;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgnotify.camel.test.CapturedLogs;
import dev.pgnotify.camel.test.FreezingProxy;
import dev.pgnotify.camel.test.HealthRecorder;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connections that die without closing (a dead NAT entry, a firewall, a failed-over database): a loopback proxy
 * between the component and PostgreSQL stops forwarding on its open connections and closes nothing, while new
 * connections go through. Every blocked call must return within its bound, the consumer must say DOWN while it cannot
 * work and recover by itself, a producer must fail clearly within the bound (so that redelivery can retry), and a
 * stop must finish promptly, leaving no thread behind and logging no exception of ours.
 */
class HalfOpenConnectionIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(HalfOpenConnectionIT.class);
    private static final long STATEMENT_TIMEOUT = 3000;
    private static final long CONNECT_TIMEOUT = 2000;
    private static final long LEASE_TIME = 5000;

    private FreezingProxy proxy;
    private CamelContext camel;

    @BeforeEach
    void startProxy() {
        proxy = FreezingProxy.inFrontOf(server().jdbcUrl());
    }

    @AfterEach
    void stop() throws Exception {
        if (camel != null) {
            camel.close();
        }
        proxy.close();
    }

    /** A context whose pgnotify goes through the proxy and pgdirect straight to the server. */
    private CamelContext camel(Map<String, Object> options, RouteBuilder routes) throws Exception {
        CamelContext context = new DefaultCamelContext();
        PgNotifyComponent throughProxy = new PgNotifyComponent();
        throughProxy.getConfiguration().setJdbcUrl(proxy.jdbcUrl(server().jdbcUrl()));
        throughProxy.getConfiguration().setUsername(server().username());
        throughProxy.getConfiguration().setPassword(server().password());
        throughProxy.getConfiguration().setStatementTimeout((Long) options.getOrDefault("statementTimeout",
                STATEMENT_TIMEOUT));
        throughProxy.getConfiguration().setConnectTimeout((Long) options.getOrDefault("connectTimeout", CONNECT_TIMEOUT));
        context.addComponent("pgnotify", throughProxy);
        PgNotifyComponent direct = new PgNotifyComponent();
        direct.getConfiguration().setJdbcUrl(server().jdbcUrl());
        direct.getConfiguration().setUsername(server().username());
        direct.getConfiguration().setPassword(server().password());
        context.addComponent("pgdirect", direct);
        context.addRoutes(routes);
        context.start();
        this.camel = context;
        return context;
    }

    @Test
    void queueConsumerOnFrozenConnectionsIsDownThenRecoversAndDeliversEverything() throws Exception {
        String table = "halfopen_queue_it";
        server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead CASCADE");
        Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
        AtomicLong lastDelivery = new AtomicLong();
        camel(Map.of(), new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:stream?table=" + table + "&leaseTime=" + LEASE_TIME).routeId("consumer")
                        .process(e -> {
                            received.computeIfAbsent(e.getMessage().getBody(String.class), k -> new AtomicInteger())
                                    .incrementAndGet();
                            lastDelivery.set(System.nanoTime());
                        });
            }
        });
        int messages = 10_000;
        ProducerTemplate template = camel.createProducerTemplate();
        CompletableFuture<Void> stream = CompletableFuture.runAsync(() -> {
            // 1,000 a second, straight to the server: only the consumer's connections go through the proxy
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                long due = start + TimeUnit.MILLISECONDS.toNanos(i);
                while (System.nanoTime() < due) {
                    java.util.concurrent.locks.LockSupport.parkNanos(due - System.nanoTime());
                }
                template.sendBody("pgdirect:stream?table=" + table, "m" + i);
            }
        });
        try (HealthRecorder health = new HealthRecorder(camel, "consumer")) {
            await(Duration.ofSeconds(60)).until(() -> received.size() >= 3000);
            long frozenAt = System.nanoTime();
            proxy.freezeOpenConnections();

            // DOWN while it cannot claim, within its bound
            HealthRecorder.Sample down = await(Duration.ofSeconds(30))
                    .until(() -> health.firstDownAfter(frozenAt), java.util.Optional::isPresent).get();
            long downAfter = TimeUnit.NANOSECONDS.toMillis(down.nanos() - frozenAt);
            LOG.info("Health DOWN {} ms after the freeze: {}", downAfter, down.message());

            stream.get(60, TimeUnit.SECONDS);
            // every message delivered: the claim on the frozen connection is cut short at statementTimeout, and
            // what a lost claim had leased comes back after leaseTime
            await(Duration.ofMillis(STATEMENT_TIMEOUT + CONNECT_TIMEOUT + LEASE_TIME + 20_000))
                    .until(() -> received.size() == messages);
            long stalled = TimeUnit.NANOSECONDS.toMillis(lastDelivery.get() - frozenAt);
            await(Duration.ofSeconds(10)).until(() -> health.latest().map(HealthRecorder.Sample::state)
                    .orElse(null) == HealthCheck.State.UP);
            int twice = received.values().stream().mapToInt(AtomicInteger::get).sum() - messages;
            LOG.info("10,000 messages, connections frozen after 3,000: all delivered, {} twice, last delivery {} ms"
                     + " after the freeze; {} frozen connection(s) left behind",
                    twice, stalled, proxy.frozenConnections());
            assertTrue(downAfter <= STATEMENT_TIMEOUT + 2 * 1000, "DOWN within its bound: " + downAfter + " ms");
            assertEquals(messages, received.size(), "none lost");
        }
    }

    @Test
    void queueConsumerWithDefaultSettingsRecoversWithinAboutThirtySeconds() throws Exception {
        String table = "halfopen_defaults_it";
        server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead CASCADE");
        Set<String> received = ConcurrentHashMap.newKeySet();
        // nothing configured: the component's defaults
        CamelContext context = new DefaultCamelContext();
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(proxy.jdbcUrl(server().jdbcUrl()));
        component.getConfiguration().setUsername(server().username());
        component.getConfiguration().setPassword(server().password());
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:defaults?table=" + table).routeId("consumer")
                        .process(e -> received.add(e.getMessage().getBody(String.class)));
            }
        });
        context.start();
        camel = context;
        ProducerTemplate direct = camel.createProducerTemplate();
        try (CamelContext sender = new DefaultCamelContext()) {
            PgNotifyComponent straight = sender.getComponent("pgnotify", PgNotifyComponent.class);
            straight.getConfiguration().setJdbcUrl(server().jdbcUrl());
            straight.getConfiguration().setUsername(server().username());
            straight.getConfiguration().setPassword(server().password());
            sender.start();
            ProducerTemplate send = sender.createProducerTemplate();
            send.sendBody("pgnotify:defaults?table=" + table, "before");
            await(Duration.ofSeconds(10)).until(() -> received.contains("before"));

            proxy.freezeOpenConnections();
            long frozenAt = System.nanoTime();
            send.sendBody("pgnotify:defaults?table=" + table, "after");
            await(Duration.ofSeconds(45)).until(() -> received.contains("after"));
            long recovered = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt);
            LOG.info("With default settings the consumer delivered again {} ms after its connections froze", recovered);
            assertTrue(recovered <= 32_000, "recovered within about 30 s: " + recovered + " ms");
        }
        assertTrue(direct != null);
    }

    @Test
    void notifyConsumerOnAFrozenConnectionIsDownThenListensAgain() throws Exception {
        Set<String> received = ConcurrentHashMap.newKeySet();
        camel(Map.of(), new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:halfopen_notify?mode=notify").routeId("listener")
                        .process(e -> received.add(e.getMessage().getBody(String.class)));
            }
        });
        ProducerTemplate template = camel.createProducerTemplate();
        template.sendBody("pgdirect:halfopen_notify?mode=notify", "before");
        await(Duration.ofSeconds(10)).until(() -> received.contains("before"));

        try (HealthRecorder health = new HealthRecorder(camel, "listener")) {
            long frozenAt = System.nanoTime();
            proxy.freezeOpenConnections();
            HealthRecorder.Sample down = await(Duration.ofSeconds(15))
                    .until(() -> health.firstDownAfter(frozenAt), java.util.Optional::isPresent).get();
            LOG.info("Notify consumer DOWN {} ms after the freeze: {}",
                    TimeUnit.NANOSECONDS.toMillis(down.nanos() - frozenAt), down.message());
            // the listener notices within connectionCheckInterval plus its check, and LISTENs on a new connection
            await(Duration.ofSeconds(15)).until(() -> health.latest().map(HealthRecorder.Sample::state)
                    .orElse(null) == HealthCheck.State.UP && health.firstDownAfter(frozenAt).isPresent());
            long recovered = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt);
            LOG.info("Notify consumer listening again {} ms after the freeze", recovered);
            assertTrue(recovered < 10_000, "listening again within the check's bound: " + recovered + " ms");
        }
        // notifications sent while the connection was frozen are lost (mode=notify keeps nothing); later ones arrive
        await(Duration.ofSeconds(10)).until(() -> {
            template.sendBody("pgdirect:halfopen_notify?mode=notify", "after");
            return received.contains("after");
        });
    }

    @Test
    void producersFailClearlyWithinTheBoundAndRedeliverySucceeds() throws Exception {
        String table = "halfopen_producer_it";
        server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead CASCADE");
        for (String route : new String[] { "direct:queue", "direct:notify" }) {
            // one pooled connection, so that the send is sure to use the one that freezes
            camel(Map.of(), new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:queue").to("pgnotify:sent?table=" + table + "&maxPoolSize=1");
                    from("direct:notify").to("pgnotify:halfopen_sent?mode=notify&maxPoolSize=1");
                }
            });
            ProducerTemplate template = camel.createProducerTemplate();
            template.sendBody(route, "warm-up");
            await(Duration.ofSeconds(10)).until(() -> proxy.openConnections() == 1);
            proxy.freezeOpenConnections();
            long start = System.nanoTime();
            CamelExecutionException failure = assertThrows(CamelExecutionException.class,
                    () -> template.sendBody(route, "frozen"));
            long failedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            PgNotifyTimeoutException timeout = assertInstanceOf(PgNotifyTimeoutException.class, failure.getCause());
            LOG.info("{} failed after {} ms: {}", route, failedAfter, timeout.getMessage());
            assertTrue(failedAfter <= STATEMENT_TIMEOUT + 1000, route + " failed within its bound: " + failedAfter);
            assertTrue(timeout.getMessage().contains("did not complete within " + STATEMENT_TIMEOUT
                                                     + " ms (statementTimeout)"),
                    timeout.getMessage());
            // the next send gets a new connection (the frozen one was evicted) and works
            template.sendBody(route, "after");
            camel.close();
            camel = null;
            proxy.closeAll();
        }

        // with Camel's redelivery the exchange itself succeeds
        camel(Map.of(), new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:redelivered")
                        .errorHandler(defaultErrorHandler().maximumRedeliveries(3).redeliveryDelay(100))
                        .to("pgnotify:sent?table=" + table + "&maxPoolSize=1");
            }
        });
        ProducerTemplate template = camel.createProducerTemplate();
        template.sendBody("direct:redelivered", "warm-up");
        await(Duration.ofSeconds(10)).until(() -> proxy.openConnections() == 1);
        proxy.freezeOpenConnections();
        long start = System.nanoTime();
        template.sendBody("direct:redelivered", "redelivered");
        LOG.info("A send on a frozen connection succeeded after redelivery in {} ms",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        assertEquals(1L, ((Number) server().queryValue(
                "SELECT count(*) FROM " + table + " WHERE body_text = 'redelivered'")).longValue());
    }

    @Test
    void aProducerWhoseServerDoesNotAnswerNewConnectionsFailsWithinConnectTimeout() throws Exception {
        camel(Map.of(), new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:notify").to("pgnotify:halfopen_blackhole?mode=notify");
            }
        });
        ProducerTemplate template = camel.createProducerTemplate();
        template.sendBody("direct:notify", "warm-up");
        // the server's address still accepts TCP, but nothing answers: the pool must open new connections and cannot
        proxy.blackholeNewConnections(true);
        proxy.freezeOpenConnections();
        long start = System.nanoTime();
        CamelExecutionException failure = assertThrows(CamelExecutionException.class,
                () -> template.sendBody("direct:notify", "lost"));
        long failedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        LOG.info("Send to an unanswering server failed after {} ms: {}", failedAfter, failure.getCause().getMessage());
        assertTrue(failedAfter <= STATEMENT_TIMEOUT + CONNECT_TIMEOUT + 1000, "failed within its bounds: " + failedAfter);
        assertTrue(failure.getCause() instanceof PgNotifyTimeoutException
                   || failure.getCause() instanceof PgNotifyConnectionException,
                failure.getCause().toString());
    }

    @Test
    void stoppingWhileConnectionsAreFrozenIsPromptAndClean() throws Exception {
        String table = "halfopen_stop_it";
        server().execute("DROP TABLE IF EXISTS " + table + ", " + table + "_dead CASCADE");
        AtomicInteger received = new AtomicInteger();
        try (CapturedLogs logs = new CapturedLogs()) {
            camel(Map.of("statementTimeout", 20_000L), new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:stopping?table=" + table + "&concurrentConsumers=2").routeId("consumer")
                            .process(e -> received.incrementAndGet());
                    from("pgnotify:halfopen_stopping?mode=notify").routeId("listener").to("log:ignored?level=OFF");
                }
            });
            ProducerTemplate template = camel.createProducerTemplate();
            CompletableFuture<Void> stream = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 2000; i++) {
                    template.sendBody("pgdirect:stopping?table=" + table, "m" + i);
                }
            });
            await(Duration.ofSeconds(30)).until(() -> received.get() >= 500);
            proxy.freezeOpenConnections();
            stream.get(60, TimeUnit.SECONDS);

            long start = System.nanoTime();
            camel.getRouteController().stopRoute("consumer");
            long routeStopped = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            camel.stop();
            long stopped = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            camel = null;
            LOG.info("With frozen connections the route stopped in {} ms and the context in {} ms", routeStopped,
                    stopped);
            assertTrue(stopped < 15_000, "stopped well within Camel's shutdown timeout: " + stopped + " ms");
            await(Duration.ofSeconds(5)).until(() -> threadsNamed("PgNotify") == 0 && threadsNamed("pgnotify-pool") == 0);
            assertFalse(logs.anyContains("NullPointerException"), String.join("\n", logs.lines()));
            assertTrue(logs.lines().stream().noneMatch(l -> l.contains("cannot completely force shutdown")
                                                          || l.startsWith("dev.pgnotify") && l.contains(" | ")),
                    "no exception of ours logged:\n" + String.join("\n", logs.lines()));
        }
    }
}
