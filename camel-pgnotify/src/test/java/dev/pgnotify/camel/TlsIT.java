package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import dev.pgnotify.camel.connection.LowLatencySocketFactory;
import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.test.FreezingProxy;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS as users of managed PostgreSQL services meet it: a server that refuses connections without TLS, a certificate
 * generated for the test and signed by a test authority, and {@code sslmode=verify-full}. Notifications and queue
 * messages are delivered; the listener returns notifications as they arrive over TLS as over plain TCP (batch sizes,
 * and end-to-end latency as a ratio to a plain run in the same test) and, idle, does not poll; the bounds hold behind a
 * freezing proxy and across a restart.
 */
class TlsIT {

    private static final Logger LOG = LoggerFactory.getLogger(TlsIT.class);
    private static final int STREAM_LENGTH = 20_000;
    private static final int LARGEST_ACCEPTABLE_MEDIAN_BATCH = 10;
    private static final int IDLE_SECONDS = 3;

    /** TLS only, as managed services are: the bounds and delivery tests run here. */
    private static PgTestServer tlsOnly;
    /** TLS and plain TCP on one server: the latency comparison runs here. */
    private static PgTestServer both;

    @BeforeAll
    static void startServers() {
        // committing synchronously, as production servers do: a crash loses no acknowledged send
        tlsOnly = PgTestServer.embeddedTls(true, true, Map.of("synchronous_commit", "on"));
        both = PgTestServer.embeddedTls(false, false);
    }

    @AfterAll
    static void stopServers() {
        if (tlsOnly != null) {
            tlsOnly.close();
        }
        if (both != null) {
            both.close();
        }
    }

    @Test
    void notificationsAndQueueMessagesAreDeliveredOverVerifiedTls() throws Exception {
        Set<String> received = ConcurrentHashMap.newKeySet();
        try (CamelContext camel = camel(tlsOnly.jdbcUrl(), new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:tls_events?mode=notify").process(e -> received.add("notify " + e.getMessage().getBody()));
                from("pgnotify:tls_orders?table=tls_it_queue&pollInterval=60s")
                        .process(e -> received.add("queue " + e.getMessage().getBody()));
            }
        })) {
            ProducerTemplate template = camel.createProducerTemplate();
            template.sendBody("pgnotify:tls_events?mode=notify", "hello");
            template.sendBody("pgnotify:tls_orders?table=tls_it_queue", "order 1");
            await(Duration.ofSeconds(10)).until(() -> received.containsAll(Set.of("notify hello", "queue order 1")));
            // every connection of pgnotify's is encrypted, the LISTEN one included
            assertEquals(0L, ((Number) tlsOnly.queryValue("SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s"
                                                          + " ON s.pid = a.pid WHERE a.application_name LIKE"
                                                          + " 'camel-pgnotify%' AND NOT s.ssl")).longValue());
            assertTrue(((Number) tlsOnly.queryValue("SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s"
                                                    + " ON s.pid = a.pid WHERE a.application_name = '"
                                                    + ListenerConnections.LISTENER_APPLICATION_NAME + "' AND s.ssl"))
                    .longValue() == 1);
        }
        // a clean stop over TLS leaves no connection behind
        await(Duration.ofSeconds(10)).until(() -> ((Number) tlsOnly.queryValue(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'camel-pgnotify%'")).longValue() == 0);
    }

    @Test
    void overTlsTheListenerReturnsNotificationsAsTheyArrive() throws Exception {
        // without the socket factory pgjdbc holds them back in batches over TLS too; with it, one at a time
        int plainPgjdbc = medianBatch(tlsOnly, null, "tls_batch_plain");
        int withFactory = medianBatch(tlsOnly, LowLatencySocketFactory.class.getName(), "tls_batch_factory");
        LOG.info("Over TLS, median notifications per getNotifications call for a {} stream: pgjdbc alone {}, with the"
                 + " low-latency socket {}", STREAM_LENGTH, plainPgjdbc, withFactory);
        assertTrue(withFactory <= LARGEST_ACCEPTABLE_MEDIAN_BATCH,
                "median batch " + withFactory + ": notifications are held back over TLS");
    }

    @Test
    void notifyLatencyOverTlsIsWithinTwiceThePlainOnesPlusAMillisecond() throws Exception {
        // the same stream, plain then TLS, three rounds (the machine drifts): the median round's p99 of each
        // compared, as the benchmark's target does. (The best round of each, compared before, failed a CI run whose
        // plain rounds gave 3.16, 0.76 and 1.62 ms: one lucky plain round against TLS's 3.06, 2.52 and 3.33.)
        List<Double> plain = new ArrayList<>();
        List<Double> tls = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            plain.add(notifyP99(both.plainJdbcUrl(), "latency_plain_" + round));
            tls.add(notifyP99(both.jdbcUrl(), "latency_tls_" + round));
        }
        double plainP99 = median(plain);
        double tlsP99 = median(tls);
        LOG.info("mode=notify at 1,000 msg/s, p99 per round: plain {} ms, TLS {} ms", plain, tls);
        assertTrue(tlsP99 <= 2 * plainP99 + 1, "TLS p99 " + tlsP99 + " ms against plain " + plainP99 + " ms");
    }

    private static double median(List<Double> rounds) {
        List<Double> sorted = new ArrayList<>(rounds);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    @Test
    void anIdleListenerPollsNoMoreOverTlsThanOverPlainTcp() throws Exception {
        // the TLS peek must not turn into a busy loop: idle, the LISTEN thread wakes once per wait on either transport
        long plain = idleListenerCpuNanos(both.plainJdbcUrl(), "idle_plain");
        long tls = idleListenerCpuNanos(both.jdbcUrl(), "idle_tls");
        LOG.info("CPU of an idle LISTEN thread over {} s: plain TCP {} ms, TLS {} ms", IDLE_SECONDS, plain / 1e6,
                tls / 1e6);
        assertTrue(tls <= TimeUnit.MILLISECONDS.toNanos(IDLE_SECONDS * 50L),
                "the idle LISTEN thread used " + tls / 1e6 + " ms of CPU in " + IDLE_SECONDS + " s over TLS");
        assertTrue(tls <= 2 * plain + TimeUnit.MILLISECONDS.toNanos(20),
                "idle over TLS " + tls / 1e6 + " ms against plain TCP " + plain / 1e6 + " ms");
    }

    @Test
    void overTlsAQueueConsumerOnFrozenConnectionsRecoversAndDeliversEverything() throws Exception {
        try (FreezingProxy proxy = FreezingProxy.inFrontOf(tlsOnly.jdbcUrl())) {
            Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
            AtomicLong lastDelivery = new AtomicLong();
            try (CamelContext consumer = camel(proxy.jdbcUrl(tlsOnly.jdbcUrl()), new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:tls_frozen?table=tls_it_frozen&leaseTime=2000").process(e -> {
                        received.computeIfAbsent(e.getMessage().getBody(String.class), k -> new AtomicInteger())
                                .incrementAndGet();
                        lastDelivery.set(System.nanoTime());
                    });
                }
            }, 2000, 1500); CamelContext producer = camel(tlsOnly.jdbcUrl(), null)) {
                ProducerTemplate template = producer.createProducerTemplate();
                int messages = 4000;
                CompletableFuture<Void> stream = CompletableFuture.runAsync(() -> {
                    long start = System.nanoTime();
                    for (int i = 0; i < messages; i++) {
                        long due = start + TimeUnit.MILLISECONDS.toNanos(i);
                        while (System.nanoTime() < due) {
                            LockSupport.parkNanos(due - System.nanoTime());
                        }
                        template.sendBody("pgnotify:tls_frozen?table=tls_it_frozen", "m" + i);
                    }
                });
                await(Duration.ofSeconds(60)).until(() -> received.size() >= 1000);
                long frozenAt = System.nanoTime();
                proxy.freezeOpenConnections();
                await(Duration.ofSeconds(30)).until(() -> lastDelivery.get() > frozenAt + 1_000_000L);
                long resumedMillis = TimeUnit.NANOSECONDS.toMillis(lastDelivery.get() - frozenAt);
                LOG.info("Over TLS, the consumer delivered again {} ms after its connections froze", resumedMillis);
                // connectTimeout + statementTimeout + the lease, as on plain TCP
                assertTrue(resumedMillis <= 2000 + 1500 + 2000 + 2000, "resumed after " + resumedMillis + " ms");
                stream.get(120, TimeUnit.SECONDS);
                await(Duration.ofSeconds(60)).until(() -> received.size() == messages);
            }
        }
    }

    @Test
    void overTlsDeliveryResumesAfterAFastRestartAndACrash() throws Exception {
        Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
        AtomicLong lastDelivery = new AtomicLong();
        try (CamelContext camel = camel(tlsOnly.jdbcUrl(), new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:send").errorHandler(defaultErrorHandler().maximumRedeliveries(200).redeliveryDelay(100))
                        .to("pgnotify:tls_restart?table=tls_it_restart");
                from("pgnotify:tls_restart?table=tls_it_restart").process(e -> {
                    received.computeIfAbsent(e.getMessage().getBody(String.class), k -> new AtomicInteger())
                            .incrementAndGet();
                    lastDelivery.set(System.nanoTime());
                });
            }
        }, 5000, 5000)) {
            ProducerTemplate template = camel.createProducerTemplate();
            int messages = 3000;
            AtomicInteger next = new AtomicInteger();
            CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
                for (int i = next.getAndIncrement(); i < messages; i = next.getAndIncrement()) {
                    template.sendBody("direct:send", "m" + i);
                }
            });
            for (PgTestServer.StopMode mode : PgTestServer.StopMode.values()) {
                int at = mode == PgTestServer.StopMode.FAST ? messages / 4 : messages / 2;
                await(Duration.ofSeconds(60)).until(() -> received.size() >= at);
                tlsOnly.stop(mode);
                tlsOnly.start();
                long startedAt = System.nanoTime();
                await(Duration.ofSeconds(30)).until(() -> lastDelivery.get() > startedAt);
                long resumedMillis = TimeUnit.NANOSECONDS.toMillis(lastDelivery.get() - startedAt);
                LOG.info("Over TLS, {} restart: delivering again {} ms after the server was back", mode, resumedMillis);
                assertTrue(resumedMillis <= 10_000, mode + ": resumed within 10 s of the server's return");
            }
            producer.get(120, TimeUnit.SECONDS);
            await(Duration.ofSeconds(60)).until(() -> received.size() == messages);
        }
    }

    /** Median notifications per getNotifications call for a steady stream, with or without a socket factory. */
    private static int medianBatch(PgTestServer server, String socketFactory, String channel) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("user", server.username());
        if (socketFactory != null) {
            properties.setProperty("socketFactory", socketFactory);
        }
        try (Connection listener = DriverManager.getConnection(server.jdbcUrl(), properties)) {
            return NotificationBatches.median(listener, channel, STREAM_LENGTH,
                    () -> DriverManager.getConnection(server.jdbcUrl(), server.username(), null));
        }
    }

    /**
     * The CPU time of the LISTEN thread of an application whose notify consumer has received one notification and
     * then waits, idle, for IDLE_SECONDS.
     */
    private static long idleListenerCpuNanos(String jdbcUrl, String channel) throws Exception {
        CompletableFuture<Object> received = new CompletableFuture<>();
        try (CamelContext camel = camel(jdbcUrl, new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:" + channel + "?mode=notify").process(e -> received.complete(e.getMessage().getBody()));
            }
        })) {
            camel.createProducerTemplate().sendBody("pgnotify:" + channel + "?mode=notify", "wake");
            received.get(10, TimeUnit.SECONDS);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long listener = Arrays.stream(threads.getThreadInfo(threads.getAllThreadIds())).filter(Objects::nonNull)
                    .filter(t -> t.getThreadName().contains("(" + camel.getName() + ")")
                                 && t.getThreadName().endsWith("PgNotifyListener"))
                    .mapToLong(ThreadInfo::getThreadId).findFirst()
                    .orElseThrow(() -> new AssertionError("no LISTEN thread in " + camel.getName()));
            long before = threads.getThreadCpuTime(listener);
            // the measurement is the idle time itself, not a wait for something to happen
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(IDLE_SECONDS);
            for (long left = end - System.nanoTime(); left > 0; left = end - System.nanoTime()) {
                LockSupport.parkNanos(left);
            }
            return threads.getThreadCpuTime(listener) - before;
        }
    }

    /** p99 of end-to-end notify latency at 1,000 msg/s for 3 s, through a route of pgnotify's. */
    private static double notifyP99(String jdbcUrl, String channel) throws Exception {
        int count = 3000;
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        try (CamelContext camel = camel(jdbcUrl, new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:" + channel + "?mode=notify").process(e -> latencies.add(
                        System.nanoTime() - Long.parseLong(e.getMessage().getBody(String.class))));
            }
        })) {
            ProducerTemplate template = camel.createProducerTemplate();
            String uri = "pgnotify:" + channel + "?mode=notify";
            // warm up, not measured
            for (int i = 0; i < 500; i++) {
                template.sendBody(uri, Long.toString(System.nanoTime()));
            }
            await(Duration.ofSeconds(10)).until(() -> latencies.size() >= 500);
            latencies.clear();
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                long due = start + TimeUnit.MILLISECONDS.toNanos(i);
                while (System.nanoTime() < due) {
                    LockSupport.parkNanos(due - System.nanoTime());
                }
                template.sendBody(uri, Long.toString(System.nanoTime()));
            }
            await(Duration.ofSeconds(30)).until(() -> latencies.size() >= count);
            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            return sorted[(int) Math.ceil(0.99 * sorted.length) - 1] / 1e6;
        }
    }

    private static CamelContext camel(String jdbcUrl, RouteBuilder routes) throws Exception {
        return camel(jdbcUrl, routes, 0, 0);
    }

    private static CamelContext camel(String jdbcUrl, RouteBuilder routes, long connectTimeout, long statementTimeout)
            throws Exception {
        if (connectTimeout <= 0) {
            return PgNotifyITSupport.application(jdbcUrl, tlsOnly.username(), null, routes);
        }
        // tighter bounds, set before the routes start
        CamelContext camel = PgNotifyITSupport.application(jdbcUrl, tlsOnly.username(), null, null);
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setConnectTimeout(connectTimeout);
        component.getConfiguration().setStatementTimeout(statementTimeout);
        component.getConfiguration().setConnectionCheckInterval(1000);
        component.getConfiguration().setMaxReconnectDelay(1000);
        if (routes != null) {
            camel.addRoutes(routes);
        }
        return camel;
    }

    private static ConditionFactory await(Duration atMost) {
        return Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(20));
    }
}
