package dev.pgnotify.bench;

import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plain TCP and TLS side by side, on one server of their own that speaks both (SSL on, a certificate generated for
 * the run, clients verifying it: sslmode=verify-full), with the main server's settings: mode=notify and mode=queue,
 * end to end, each once over plain TCP and once over TLS per round; and, once, the CPU both cost ({@link TlsCpu}).
 */
final class TlsWorkloads implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TlsWorkloads.class);

    static final String GROUP = "TLS";
    static final String NOTIFY_1000 = "mode=notify at 1,000 msg/s, %s";
    static final String NOTIFY_TOP = "mode=notify at camel-pgevent's top rate, %s";
    static final String QUEUE_1000 = "mode=queue at 1,000 msg/s, %s";
    static final String QUEUE_1 = "mode=queue, 1 producer thread, %s";
    static final String PLAIN = "plain TCP";
    static final String TLS = "TLS";

    private final Bench bench;
    private final PgNotifyWorkloads workloads;
    private final PgTestServer server;

    TlsWorkloads(Bench bench, PgNotifyWorkloads workloads) {
        this.bench = bench;
        this.workloads = workloads;
        this.server = PgTestServer.embeddedTls(false, false, Map.of("synchronous_commit", "on", "fsync", "on"));
        LOG.info("TLS workloads on {}", server);
    }

    static String name(String workload, String transport) {
        return String.format(workload, transport);
    }

    void runAll(double pgeventTopRate) throws Exception {
        int rateCount = (int) (1000 * bench.options.millis(3000) / 1000);
        int topCount = (int) (pgeventTopRate * bench.options.millis(3000) / 1000);
        for (String transport : new String[] { PLAIN, TLS }) {
            String url = transport.equals(TLS) ? server.jdbcUrl() : server.plainJdbcUrl();
            bench.measure(GROUP, name(NOTIFY_1000, transport), "open model, one message every millisecond",
                    () -> workloads.endToEnd(camel(url), "pgnotify:bench_tls?mode=notify", 1, rateCount, 1000, 100));
            bench.measure(GROUP, name(NOTIFY_TOP, transport),
                    String.format("open model at %,d msg/s, the median throughput of camel-pgevent in this run",
                            Math.round(pgeventTopRate)),
                    () -> workloads.endToEnd(camel(url), "pgnotify:bench_tls?mode=notify", 1, topCount,
                            pgeventTopRate, 100));
            bench.measure(GROUP, name(QUEUE_1000, transport), "open model, one message every millisecond",
                    () -> workloads.endToEnd(camel(url), "pgnotify:bench_tls?table=bench_tls_queue", 1, rateCount,
                            1000, 100));
            bench.measure(GROUP, name(QUEUE_1, transport), "sending rate; the consumer drains at the same time",
                    () -> workloads.endToEnd(camel(url), "pgnotify:bench_tls?table=bench_tls_queue", 1,
                            bench.options.count(6_000), 0, 100));
        }
    }

    /** The CPU comparison of plain TCP and TLS (see {@link TlsCpu}), once, after the rounds. */
    TlsCpu measureCpu() throws Exception {
        TlsCpu cpu = new TlsCpu(bench, server);
        cpu.run();
        return cpu;
    }

    private CamelContext camel(String jdbcUrl) {
        return Bench.camel(jdbcUrl, server.username(), server.password());
    }

    @Override
    public void close() {
        server.close();
    }
}
