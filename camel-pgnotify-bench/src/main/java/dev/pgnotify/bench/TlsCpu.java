package dev.pgnotify.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.test.PgTestServer;
import dev.pgnotify.camel.test.TestCertificates;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU a notify stream costs this JVM over plain TCP and over TLS, measured apart from the latency workloads: a
 * stream of process CPU over a few seconds is coarse (JIT and GC threads count in it), so this one runs longer, more
 * rounds, the transports in a rotating order, and splits the CPU by thread: the LISTEN connection's thread, the
 * consumer's thread that runs the route, the sending thread (the producer's statements on pgnotify's pool), and the
 * rest of the JVM. A third arrangement puts only the LISTEN connection on TLS and sends over plain TCP, so that what
 * the listener's socket costs over TLS shows apart from what the producer's encrypted statements cost. An idle notify
 * and queue consumer is measured over both transports the same way.
 */
final class TlsCpu {

    private static final Logger LOG = LoggerFactory.getLogger(TlsCpu.class);

    /** What bench.only selects this by. */
    static final String NAME = "TLS CPU";
    static final String ALL_PLAIN = "plain TCP";
    static final String LISTENER_TLS = "LISTEN over TLS, sending over plain TCP";
    static final String ALL_TLS = "TLS";
    static final List<String> ARRANGEMENTS = List.of(ALL_PLAIN, LISTENER_TLS, ALL_TLS);
    static final List<String> PARTS = List.of("JVM", "LISTEN thread", "route thread", "sending thread", "rest");
    static final int JVM = 0;
    static final int LISTEN_THREAD = 1;
    static final int ROUTE_THREAD = 2;
    static final int SENDING_THREAD = 3;

    private static final String CHANNEL = "bench_tls_cpu";

    private final Bench bench;
    private final PgTestServer server;
    /** Per arrangement, per round: CPU ms per 1,000 messages of each of PARTS. */
    final Map<String, List<double[]>> streaming = new HashMap<>();
    /** Per transport (ALL_PLAIN, ALL_TLS), per round: the JDK's own cost of such records (see {@link JdkTlsCost}). */
    final Map<String, List<JdkTlsCost.Cost>> jdk = new HashMap<>();
    /** Per transport (ALL_PLAIN, ALL_TLS), per round: CPU ms a second of an idle notify and queue consumer. */
    final Map<String, List<Double>> idle = new HashMap<>();
    /** The TLS protocol and cipher suite of the LISTEN connection, as the server says (pg_stat_ssl). */
    String serverProtocol = "";
    int messagesPerRun;
    int warmUpMessages;
    long idleMillis;

    TlsCpu(Bench bench, PgTestServer server) {
        this.bench = bench;
        this.server = server;
    }

    void run() throws Exception {
        int rounds = bench.options.smoke() ? 1 : Math.max(bench.options.tlsCpuRounds(), bench.options.runs());
        messagesPerRun = (int) bench.options.millis(10_000);
        warmUpMessages = (int) bench.options.millis(3_000);
        idleMillis = bench.options.millis(10_000);
        try (TestCertificates certificates = TestCertificates.generate()) {
            run(rounds, certificates);
        }
    }

    private void run(int rounds, TestCertificates certificates) throws Exception {
        // a round not counted: what the first runs of a JVM spend on compiling falls on no arrangement (a smoke run
        // measures nothing, and skips it)
        for (String arrangement : bench.options.smoke() ? List.<String>of() : ARRANGEMENTS) {
            LOG.info("Warming up, not counted: {}", format(stream(arrangement)));
        }
        for (int round = 0; round < rounds; round++) {
            // rotating, so that no arrangement always runs first (on a colder JVM) or last
            for (int i = 0; i < ARRANGEMENTS.size(); i++) {
                String arrangement = ARRANGEMENTS.get((i + round) % ARRANGEMENTS.size());
                double[] perThousand = stream(arrangement);
                streaming.computeIfAbsent(arrangement, a -> new ArrayList<>()).add(perThousand);
                LOG.info("CPU per 1,000 notifications, {}: {}", arrangement, format(perThousand));
            }
            for (String transport : round % 2 == 0 ? List.of(ALL_PLAIN, ALL_TLS) : List.of(ALL_TLS, ALL_PLAIN)) {
                JdkTlsCost.Cost cost = JdkTlsCost.measure(certificates, transport.equals(ALL_TLS),
                        messagesPerRun / 2, warmUpMessages);
                jdk.computeIfAbsent(transport, t -> new ArrayList<>()).add(cost);
                LOG.info("The JDK alone, {} ({}): {} us CPU per message received, {} us per request answered",
                        transport, cost.protocol(), String.format(Locale.ROOT, "%.1f", cost.receive()),
                        String.format(Locale.ROOT, "%.1f", cost.roundTrip()));
            }
            for (String transport : round % 2 == 0 ? List.of(ALL_PLAIN, ALL_TLS) : List.of(ALL_TLS, ALL_PLAIN)) {
                double perSecond = idle(transport);
                idle.computeIfAbsent(transport, t -> new ArrayList<>()).add(perSecond);
                LOG.info("CPU of an idle notify and queue consumer, {}: {} ms a second", transport,
                        String.format(Locale.ROOT, "%.1f", perSecond));
            }
        }
    }

    /** Median per part over the rounds. */
    double[] median(String arrangement) {
        List<double[]> runs = streaming.getOrDefault(arrangement, List.of());
        double[] medians = new double[PARTS.size()];
        for (int part = 0; part < PARTS.size(); part++) {
            int p = part;
            medians[part] = Bench.median(runs.stream().mapToDouble(r -> r[p]).toArray());
        }
        return medians;
    }

    /**
     * The median over the rounds of each round's difference to plain TCP's run of the same round, for one part:
     * paired, so that the machine's drift between rounds falls on both sides.
     */
    double medianDifference(String arrangement, int part) {
        List<double[]> runs = streaming.getOrDefault(arrangement, List.of());
        List<double[]> plain = streaming.getOrDefault(ALL_PLAIN, List.of());
        return Bench.median(IntStream.range(0, Math.min(runs.size(), plain.size()))
                .mapToDouble(round -> runs.get(round)[part] - plain.get(round)[part]).toArray());
    }

    /** The median over the rounds of the JVM's CPU in this arrangement divided by plain TCP's of the same round. */
    double medianRatioToPlain(String arrangement) {
        List<double[]> runs = streaming.getOrDefault(arrangement, List.of());
        List<double[]> plain = streaming.getOrDefault(ALL_PLAIN, List.of());
        return Bench.median(IntStream.range(0, Math.min(runs.size(), plain.size()))
                .mapToDouble(round -> runs.get(round)[JVM] / plain.get(round)[JVM]).toArray());
    }

    /** The JDK alone, TLS minus plain TCP per round, median: 0 the message received, 1 the request answered. */
    double medianJdkDifference(int shape) {
        List<JdkTlsCost.Cost> tls = jdk.getOrDefault(ALL_TLS, List.of());
        List<JdkTlsCost.Cost> plain = jdk.getOrDefault(ALL_PLAIN, List.of());
        return Bench.median(IntStream.range(0, Math.min(tls.size(), plain.size()))
                .mapToDouble(round -> shape == 0 ? tls.get(round).receive() - plain.get(round).receive()
                        : tls.get(round).roundTrip() - plain.get(round).roundTrip()).toArray());
    }

    /** The TLS protocol and cipher suite the JDK chose for its own sockets. */
    String jdkProtocol() {
        return jdk.getOrDefault(ALL_TLS, List.of()).stream().map(JdkTlsCost.Cost::protocol).findFirst().orElse("");
    }

    double medianIdle(String transport) {
        return Bench.median(idle.getOrDefault(transport, List.of()).stream().mapToDouble(Double::doubleValue).toArray());
    }

    static String format(double[] perThousand) {
        StringBuilder text = new StringBuilder();
        for (int part = 0; part < PARTS.size(); part++) {
            text.append(part == 0 ? "" : ", ").append(PARTS.get(part)).append(' ')
                    .append(String.format(Locale.ROOT, "%.1f", perThousand[part]));
        }
        return text.toString();
    }

    /** mode=notify at 1,000 msg/s; returns CPU ms per 1,000 messages for each of PARTS. */
    private double[] stream(String arrangement) throws Exception {
        String sendUrl = arrangement.equals(ALL_TLS) ? server.jdbcUrl() : server.plainJdbcUrl();
        String listenUrl = arrangement.equals(ALL_PLAIN) ? server.plainJdbcUrl() : server.jdbcUrl();
        Receiver receiver = new Receiver(messagesPerRun);
        try (CamelContext camel = Bench.camel(sendUrl, server.username(), server.password())) {
            PgNotifyComponent listening = new PgNotifyComponent();
            listening.getConfiguration().setJdbcUrl(listenUrl);
            listening.getConfiguration().setUsername(server.username());
            listening.getConfiguration().setPassword(server.password());
            camel.addComponent("pgnotifylisten", listening);
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotifylisten:" + CHANNEL + "?mode=notify")
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint("pgnotify:" + CHANNEL + "?mode=notify");
            // warm: compiled code, connections open, TLS sessions up
            Bench.sendAtRate(1000, warmUpMessages,
                    seq -> template.sendBody(endpoint, Receiver.warmUpBody(100)));
            Map<Long, Long> threadsBefore = threadCpu();
            long processBefore = Bench.processCpuNanos();
            Bench.sendAtRate(1000, messagesPerRun, seq -> template.sendBody(endpoint, Receiver.body(seq, 100)));
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            long process = Bench.processCpuNanos() - processBefore;
            Map<Long, Long> threadsAfter = threadCpu();
            if (!arrangement.equals(ALL_PLAIN) && serverProtocol.isEmpty()) {
                serverProtocol = String.valueOf(server.queryValue("SELECT s.version || ' ' || s.cipher FROM pg_stat_ssl s"
                                                                  + " JOIN pg_stat_activity a ON a.pid = s.pid WHERE s.ssl"
                                                                  + " AND a.application_name = '"
                                                                  + ListenerConnections.LISTENER_APPLICATION_NAME + "'"));
            }
            long[] parts = new long[PARTS.size()];
            parts[JVM] = process;
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long sender = Thread.currentThread().getId();
            for (Map.Entry<Long, Long> entry : threadsAfter.entrySet()) {
                Long before = threadsBefore.get(entry.getKey());
                if (before == null) {
                    continue;
                }
                ThreadInfo info = threads.getThreadInfo(entry.getKey());
                String name = info == null ? "" : info.getThreadName();
                long used = entry.getValue() - before;
                if (name.contains("PgNotifyListener")) {
                    parts[LISTEN_THREAD] += used;
                } else if (name.contains("PgNotifyConsumer")) {
                    parts[ROUTE_THREAD] += used;
                } else if (entry.getKey() == sender) {
                    parts[SENDING_THREAD] += used;
                }
            }
            parts[PARTS.size() - 1] = process - parts[LISTEN_THREAD] - parts[ROUTE_THREAD] - parts[SENDING_THREAD];
            if (receiver.run(0, "").delivered() < messagesPerRun) {
                throw new IllegalStateException(arrangement + ": not every notification arrived");
            }
            return Arrays.stream(parts).mapToDouble(nanos -> nanos / 1e6 / messagesPerRun * 1000).toArray();
        }
    }

    /** A notify and a queue consumer, idle: CPU ms a second, after start-up has settled. */
    private double idle(String transport) throws Exception {
        String url = transport.equals(ALL_TLS) ? server.jdbcUrl() : server.plainJdbcUrl();
        try (CamelContext camel = Bench.camel(url, server.username(), server.password())) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:bench_tls_idle?mode=notify").process(exchange -> {
                    });
                    from("pgnotify:bench_tls_idle?table=bench_tls_queue").process(exchange -> {
                    });
                }
            });
            camel.start();
            Bench.pause(bench.options.millis(1000));
            long before = Bench.preciseProcessCpuNanos();
            Bench.pause(idleMillis);
            return (Bench.preciseProcessCpuNanos() - before) / 1e6 / (idleMillis / 1000.0);
        }
    }

    private static Map<Long, Long> threadCpu() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<Long, Long> cpu = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            long nanos = threads.getThreadCpuTime(id);
            if (nanos >= 0) {
                cpu.put(id, nanos);
            }
        }
        return cpu;
    }
}
