package dev.pgnotify.bench;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The report: targets first (each a ratio of two medians of this run), then every workload, the wake-up and heap
 * figures, the machine and the server settings, and two charts.
 */
final class Report {

    private final Bench bench;
    private final MvccWorkloads mvcc;
    /** The CPU comparison of plain TCP and TLS, where it ran. */
    private final TlsCpu tlsCpu;
    private final List<String[]> facts;
    /** The job-queue workload's section (its own table: steps of doubling rates), or "". */
    private final String jobSection;
    private final double seconds;

    Report(Bench bench, MvccWorkloads mvcc, TlsCpu tlsCpu, List<String[]> facts, String jobSection, double seconds) {
        this.bench = bench;
        this.jobSection = jobSection;
        this.mvcc = mvcc;
        this.tlsCpu = tlsCpu;
        this.facts = facts;
        this.seconds = seconds;
    }

    Path write(Path dir) throws Exception {
        Files.createDirectories(dir);
        throughputChart(dir.resolve("throughput.png"));
        latencyChart(dir.resolve("latency.png"));
        if (!mvcc.soakWindows.isEmpty()) {
            soakChart(dir.resolve("soak.png"));
        }
        Path report = dir.resolve("report.md");
        Files.writeString(report, markdown());
        return report;
    }

    private String markdown() throws Exception {
        StringBuilder md = new StringBuilder("# camel-pgnotify benchmark\n\n");
        md.append(String.format(Locale.ROOT, "Run on %s in %.0f s, %d run%s a workload%s; every figure is the median of the runs."
                                             + " Baselines and pgnotify ran in the same run, on the same server, in"
                                             + " rounds: each workload once per round, so that they alternate.\n\n",
                ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z")), seconds,
                bench.options.runs(), bench.options.runs() > 1 ? "s" : "", bench.options.smoke() ? " (smoke run: tiny counts)" : ""));
        environment(md);
        targets(md);
        md.append("## Throughput\n\n![Throughput](throughput.png)\n\n");
        md.append("| Group | Workload | Median msg/s | Runs (msg/s) | Latency p50 / p95 / p99 (ms) | Lost | Twice | Notes |\n");
        md.append("|---|---|---:|---|---|---:|---:|---|\n");
        for (Measurement m : measured()) {
            Run.Latencies l = m.medianLatencies();
            md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %s | %s | %d | %d | %s |\n", m.group, m.name,
                    Math.round(m.medianThroughput()),
                    Arrays.stream(m.throughputs()).mapToObj(t -> String.format("%,d", Math.round(t))).collect(Collectors.joining(", ")),
                    l == null ? "" : String.format(Locale.ROOT, "%.2f / %.2f / %.2f", l.p50(), l.p95(), l.p99()),
                    m.lost(), m.duplicates(), join(m.description, m.details())));
        }
        md.append("\n## Latency\n\n![Latency](latency.png)\n\n");
        featureSection(md);
        md.append(jobSection);
        mvccSection(md);
        tlsCpuSection(md);
        md.append("## Wake-ups and heap\n\n| What | Measured |\n|---|---|\n");
        facts.forEach(f -> md.append("| ").append(f[0]).append(" | ").append(f[1]).append(" |\n"));
        md.append("\n## How it was measured\n\n");
        md.append("- End-to-end workloads send through a Camel producer and receive in a Camel route of the same JVM;"
                  + " each body carries its sequence number and its System.nanoTime() at sending, so the receiver counts"
                  + " what was lost or delivered twice and measures the latency from the start of the send.\n");
        md.append("- Each end-to-end run starts with a second's worth of unmeasured messages (warm-up), for every contender.\n");
        md.append("- Fixed-rate workloads are an open model: message n leaves at start + n / rate whatever happened to the"
                  + " others. Their throughput is the delivery rate, which should equal the offered rate.\n");
        md.append("- Queue workloads with producers report the sending rate; the consumer drains at the same time and"
                  + " its delivery rate is in the notes. Drain workloads start a consumer on a backlog written with SQL.\n");
        md.append("- Baselines are written plainly with pgjdbc in this module, on a table of the same shape as pgnotify's"
                  + " queue (and with its indexes), with the same 100-byte bodies.\n");
        md.append("- Heap figures come from child JVMs with a capped heap (-Xmx): completing at all shows the bound;"
                  + " the peak is the JVM's own peak heap use.\n");
        md.append("- The MVCC workloads run once each (they are long); the held snapshot is a REPEATABLE READ transaction"
                  + " of another connection that ran one query and stays open. Dead tuples are PostgreSQL's own"
                  + " statistics (n_dead_tup), sizes pg_table_size and pg_indexes_size.\n");
        if (tlsCpu != null && !tlsCpu.streaming.isEmpty()) {
            md.append("- CPU over TLS: the JVM's CPU time over each run (the process clock, 10 ms steps on Linux), each"
                      + " thread's own (ThreadMXBean, to the nanosecond); a first round of every arrangement warms the"
                      + " JVM and is not counted. The JDK-alone baseline paces 140-byte messages and 200-byte requests"
                      + " (60-byte answers) one a millisecond over loopback and measures the client thread.\n");
        }
        return md.toString();
    }

    /** Per arrangement: the median CPU of each part per 1,000 notifications, and the JVM's ratio to plain TCP. */
    private void tlsCpuSection(StringBuilder md) {
        if (tlsCpu == null || tlsCpu.streaming.isEmpty()) {
            return;
        }
        md.append(String.format(Locale.ROOT, "## CPU over TLS\n\nmode=notify at 1,000 msg/s (%,d measured notifications a run"
                                             + " after %,d unmeasured), %d rounds, the arrangements in a rotating order;"
                                             + " CPU time of this JVM (producer and consumer) in ms per 1,000"
                                             + " notifications, median of the rounds, split by thread. One TLS-capable"
                                             + " server (verify-full).\n\n",
                tlsCpu.messagesPerRun, tlsCpu.warmUpMessages, tlsCpu.streaming.get(TlsCpu.ALL_PLAIN).size()));
        md.append("| Arrangement | ").append(String.join(" | ", TlsCpu.PARTS)).append(" | JVM ÷ plain TCP | JVM per round |\n");
        md.append("|---|").append("---:|".repeat(TlsCpu.PARTS.size() + 1)).append("---|\n");
        for (String arrangement : TlsCpu.ARRANGEMENTS) {
            double[] median = tlsCpu.median(arrangement);
            md.append("| ").append(arrangement).append(" | ");
            for (double part : median) {
                md.append(String.format(Locale.ROOT, "%.1f | ", part));
            }
            md.append(String.format(Locale.ROOT, "%.2f× | %s |\n", tlsCpu.medianRatioToPlain(arrangement),
                    tlsCpu.streaming.get(arrangement).stream().map(r -> String.format(Locale.ROOT, "%.0f", r[0]))
                            .collect(Collectors.joining(", "))));
        }
        md.append("\nWhat TLS adds, in µs of CPU per notification (the median of each round's difference to the same"
                  + " round's plain TCP run), beside what the JDK alone spends on the same records at the same pace (a"
                  + " plain and a TLS socket over loopback, no pgjdbc, no pgnotify; ").append(tlsCpu.jdkProtocol())
                .append("; pgjdbc and PostgreSQL chose ").append(tlsCpu.serverProtocol).append("):\n\n");
        md.append("| Thread | pgnotify, TLS − plain TCP | the JDK alone, TLS − plain TCP |\n|---|---:|---:|\n");
        md.append(String.format(Locale.ROOT, "| LISTEN thread: one notification received | %+.1f (LISTEN over TLS only),"
                                             + " %+.1f (all TLS) | %+.1f per message received |\n",
                tlsCpu.medianDifference(TlsCpu.LISTENER_TLS, TlsCpu.LISTEN_THREAD),
                tlsCpu.medianDifference(TlsCpu.ALL_TLS, TlsCpu.LISTEN_THREAD), tlsCpu.medianJdkDifference(0)));
        md.append(String.format(Locale.ROOT, "| sending thread: one statement and its answer | %+.1f (all TLS) | %+.1f"
                                             + " per request answered |\n",
                tlsCpu.medianDifference(TlsCpu.ALL_TLS, TlsCpu.SENDING_THREAD), tlsCpu.medianJdkDifference(1)));
        md.append(String.format(Locale.ROOT, "| the whole JVM | %+.1f (all TLS) | |\n",
                tlsCpu.medianDifference(TlsCpu.ALL_TLS, TlsCpu.JVM)));
        md.append(String.format(Locale.ROOT, "| route thread: no I/O, the same work in every arrangement (the noise) |"
                                             + " %+.1f (all TLS) | |\n",
                tlsCpu.medianDifference(TlsCpu.ALL_TLS, TlsCpu.ROUTE_THREAD)));
        md.append(String.format(Locale.ROOT, "\nIdle notify and queue consumer (%d s each, %d rounds), CPU of this JVM"
                                             + " to the nanosecond (/proc): plain TCP %.1f ms a second, TLS %.1f ms a"
                                             + " second.\n\n",
                tlsCpu.idleMillis / 1000, tlsCpu.idle.get(TlsCpu.ALL_PLAIN).size(),
                tlsCpu.medianIdle(TlsCpu.ALL_PLAIN), tlsCpu.medianIdle(TlsCpu.ALL_TLS)));
    }

    private void environment(StringBuilder md) throws Exception {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        md.append("## Machine and server\n\n| | |\n|---|---|\n");
        md.append(String.format(Locale.ROOT, "| Machine | %d cores, %.0f GiB, %s %s (%s) |\n", os.getAvailableProcessors(),
                os.getTotalMemorySize() / 1024.0 / 1024 / 1024, System.getProperty("os.name"), System.getProperty("os.version"),
                System.getProperty("os.arch")));
        md.append(String.format("| JVM | %s %s |\n", System.getProperty("java.vm.name"), System.getProperty("java.version")));
        md.append(String.format("| PostgreSQL | %s (%s) |\n", bench.value("SHOW server_version"), bench.server.kind().name().toLowerCase()));
        for (String setting : new String[] { "synchronous_commit", "fsync", "wal_sync_method", "shared_buffers",
                "max_connections" }) {
            md.append("| ").append(setting).append(" | ").append(bench.value("SHOW " + setting)).append(" |\n");
        }
        // whether statements can be JIT-compiled: the embedded binaries are built without LLVM, most packages with it
        md.append("| jit | ").append(bench.value("SHOW jit")).append(", ")
                .append(Boolean.parseBoolean(bench.value("SELECT pg_jit_available()")) ? "available" : "not available")
                .append(" (jit_above_cost ").append(bench.value("SHOW jit_above_cost")).append(") |\n");
        md.append("\n");
    }

    private void targets(StringBuilder md) {
        md.append("## Targets\n\n| Target | pgnotify | Baseline | Achieved | Met |\n|---|---|---|---|:-:|\n");
        ratio(md, "notify mode end to end: ≥ 1.5× camel-pgevent's throughput", PgNotifyWorkloads.NOTIFY_E2E,
                PgNotifyWorkloads.PGEVENT_E2E, 1.5);
        latency(md, "notify mode: p99 ≤ 2 ms at 1,000 msg/s", PgNotifyWorkloads.NOTIFY_1000, 2.0, null);
        latency(md, "notify mode: p99 ≤ 2 ms at camel-pgevent's top rate", PgNotifyWorkloads.NOTIFY_AT_PGEVENT_MAX, 2.0, null);
        ratio(md, "queue, 1 producer thread: ≥ 0.9× the single-client INSERT + trigger ceiling", PgNotifyWorkloads.QUEUE_1,
                Baselines.CEILING_TRIGGER_1, 0.9);
        latency(md, "queue: p99 ≤ 5 ms end to end at 1,000 msg/s", PgNotifyWorkloads.QUEUE_1000, 5.0,
                Baselines.TRIGGER_LISTEN_1000);
        ratio(md, "queue, 4 producer threads: ≥ 1.5× the single-client INSERT + trigger ceiling", PgNotifyWorkloads.QUEUE_4,
                Baselines.CEILING_TRIGGER_1, 1.5);
        ratio(md, "queue, batch=true: ≥ 0.9× the raw batch INSERT", PgNotifyWorkloads.QUEUE_BATCH, Baselines.BATCH_INSERT, 0.9);
        for (int consumers : new int[] { 1, 2, 4 }) {
            String drain = bench.measurements.stream().map(m -> m.name)
                    .filter(n -> n.startsWith("pgnotify queue, drain") && n.endsWith(consumers + " consumer(s)"))
                    .findFirst().orElse("-");
            ratio(md, "backlog drain, " + consumers + " consumer(s): ≥ 0.8× the raw claim-and-delete loop", drain,
                    String.format(Baselines.CLAIM_DELETE, consumers), 0.8);
        }
        latency(md, "topic: p99 ≤ 5 ms end to end at 1,000 msg/s with two groups", TopicWorkloads.TOPIC_1000, 5.0,
                Baselines.TRIGGER_LISTEN_1000);
        int backlog = bench.options.count(200_000);
        ratio(md, "topic, one group draining a backlog: ≥ 1.0× the raw claim-and-delete loop",
                String.format(TopicWorkloads.DRAIN_GROUPS, backlog, 1), String.format(Baselines.CLAIM_DELETE, 1), 1.0);
        for (int groups : new int[] { 0, 2, 4 }) {
            ratio(md, "topic, publishing with " + groups + " group(s) consuming: ≥ 0.9× publishing to a queue",
                    String.format(TopicWorkloads.PUBLISH, groups), PgNotifyWorkloads.QUEUE_1, 0.9);
        }
        ratio(md, "topic, 1 producer thread → 2 groups: ≥ 1.0× PgQue's rate per consumer (same run)",
                TopicWorkloads.PER_GROUP, PgQueBaseline.PER_GROUP, 1.0);
        latencyVs(md, "topic at 1,000 msg/s, 2 groups: keeps up, p99 ≤ 5 ms and ≤ PgQue's (same run)",
                TopicWorkloads.TOPIC_1000, PgQueBaseline.AT_1000, 5.0);
        ratio(md, "topic, 2 groups draining a backlog: ≥ 1.0× PgQue's 2 consumers (same run)",
                String.format(TopicWorkloads.DRAIN_GROUPS, backlog, 2), String.format(PgQueBaseline.DRAIN, backlog), 1.0);
        int relayed = bench.options.count(10_000);
        ratio(md, "Kafka relay: ≥ 0.8× Kafka's own producer sending one record at a time (acks=all)",
                String.format(KafkaWorkloads.RELAY, relayed), String.format(KafkaWorkloads.PRODUCER_ALONE, relayed), 0.8);
        heldSnapshotLatency(md);
        heldSnapshotLatency(md, "topic (1 group)", mvcc.topicFreeName, mvcc.topicHeldName, mvcc.topicFreeWindows,
                mvcc.topicHeldWindows);
        heldSnapshotLatency(md, "keyed queue (100 keys)", mvcc.keyedFreeName, mvcc.keyedHeldName,
                mvcc.keyedFreeWindows, mvcc.keyedHeldWindows);
        heldLatency(md, "queue", "an idle session holds a transaction id", mvcc.streamFreeName, mvcc.streamXidName,
                mvcc.freeWindows, mvcc.xidWindows);
        heldLatency(md, "keyed queue (100 keys)", "an idle session holds a transaction id", mvcc.keyedFreeName,
                mvcc.keyedXidName, mvcc.keyedFreeWindows, mvcc.keyedXidWindows);
        ratio(md, "backlog drain while another session holds a snapshot: ≥ 0.9× the free drain", mvcc.drainHeldName,
                mvcc.drainFreeName, 0.9);
        soakTargets(md);
        tlsLatency(md, TlsWorkloads.NOTIFY_1000);
        tlsLatency(md, TlsWorkloads.NOTIFY_TOP);
        tlsLatency(md, TlsWorkloads.QUEUE_1000);
        tlsCpuTarget(md);
        md.append("\n");
    }

    /** Over TLS: p99 within 2× the plain run's + 1 ms, both on the same TLS-capable server in this run. */
    private void tlsLatency(StringBuilder md, String workload) {
        Measurement plain = bench.find(TlsWorkloads.name(workload, TlsWorkloads.PLAIN));
        Measurement tls = bench.find(TlsWorkloads.name(workload, TlsWorkloads.TLS));
        if (plain == null || tls == null || plain.runs.isEmpty() || tls.runs.isEmpty()
            || plain.medianLatencies() == null || tls.medianLatencies() == null) {
            return;
        }
        double plainP99 = plain.medianLatencies().p99();
        double tlsP99 = tls.medianLatencies().p99();
        double bound = 2 * plainP99 + 1;
        md.append(String.format(Locale.ROOT, "| %s over TLS (verify-full): p99 ≤ 2× plain TCP's + 1 ms | p99 %.2f ms"
                                             + " (p50 %.2f) | plain TCP, same server: p99 %.2f ms (p50 %.2f) |"
                                             + " %.2f ms (bound %.2f) | %s |\n",
                String.format(workload, "").replaceFirst(", $", ""), tlsP99, tls.medianLatencies().p50(), plainP99,
                plain.medianLatencies().p50(), tlsP99, bound, tlsP99 <= bound ? "yes" : "**no**"));
    }

    /** Over TLS: the JVM's CPU per notification against plain TCP's, as the issue asks; the section says why. */
    private void tlsCpuTarget(StringBuilder md) {
        if (tlsCpu == null || tlsCpu.streaming.isEmpty()) {
            return;
        }
        double plain = tlsCpu.median(TlsCpu.ALL_PLAIN)[TlsCpu.JVM];
        double tls = tlsCpu.median(TlsCpu.ALL_TLS)[TlsCpu.JVM];
        double ratio = tlsCpu.medianRatioToPlain(TlsCpu.ALL_TLS);
        md.append(String.format(Locale.ROOT, "| mode=notify at 1,000 msg/s over TLS: CPU no more than over plain TCP |"
                                             + " %.0f ms per 1,000 | plain TCP: %.0f ms per 1,000 | %.2f× (median of"
                                             + " the rounds' ratios) | %s |\n",
                tls, plain, ratio, ratio <= 1 ? "yes"
                        : "**no**: the JDK's TLS records (see CPU over TLS)"));
        double plainIdle = tlsCpu.medianIdle(TlsCpu.ALL_PLAIN);
        double tlsIdle = tlsCpu.medianIdle(TlsCpu.ALL_TLS);
        md.append(String.format(Locale.ROOT, "| idle notify and queue consumer over TLS: about zero CPU, no more than"
                                             + " plain TCP's (within the idle runs' noise: 1.25× or 2 ms a second) | %.1f ms a second | plain TCP: %.1f ms a second | %.2f× |"
                                             + " %s |\n", tlsIdle, plainIdle, tlsIdle / plainIdle,
                tlsIdle <= Math.max(plainIdle * 1.25, plainIdle + 2) ? "yes" : "**no**"));
    }

    /** Held-snapshot stream: p99 within 2× the free run's plus 5 ms, overall and in its last window. */
    private void heldSnapshotLatency(StringBuilder md) {
        heldSnapshotLatency(md, "queue", mvcc.streamFreeName, mvcc.streamHeldName, mvcc.freeWindows, mvcc.heldWindows);
    }

    private void heldSnapshotLatency(StringBuilder md, String what, String freeName, String heldName,
                                     List<MvccWorkloads.Window> freeWindows, List<MvccWorkloads.Window> heldWindows) {
        heldLatency(md, what, "another session holds a snapshot", freeName, heldName, freeWindows, heldWindows);
    }

    /** A stream while another session holds something: p99 within 2× the free run's plus 5 ms, and no climb. */
    private void heldLatency(StringBuilder md, String what, String whileHeld, String freeName, String heldName,
                             List<MvccWorkloads.Window> freeWindows, List<MvccWorkloads.Window> heldWindows) {
        Measurement free = freeName != null ? bench.find(freeName) : null;
        Measurement held = heldName != null ? bench.find(heldName) : null;
        if (free == null || held == null || free.runs.isEmpty() || held.runs.isEmpty()) {
            return;
        }
        double freeP99 = free.medianLatencies().p99();
        double heldP99 = held.medianLatencies().p99();
        double bound = 2 * freeP99 + 5;
        md.append(String.format(Locale.ROOT, "| %s at 1,000 msg/s while %s: p99 ≤ 2×"
                                             + " the free run's + 5 ms | p99 %.2f ms (p50 %.2f) | same stream, free:"
                                             + " p99 %.2f ms | %.2f ms (bound %.2f) | %s |\n",
                what, whileHeld, heldP99, held.medianLatencies().p50(), freeP99, heldP99, bound, heldP99 <= bound ? "yes" : "**no**"));
        if (!heldWindows.isEmpty() && !freeWindows.isEmpty()) {
            MvccWorkloads.Window lastHeld = heldWindows.get(heldWindows.size() - 1);
            MvccWorkloads.Window firstHeld = heldWindows.get(0);
            md.append(String.format(Locale.ROOT, "| … and its last window against its first: p50 does not climb"
                                                 + " (≤ 2× + 1 ms) | last window p50 %.2f ms, %,d dead tuples | first"
                                                 + " window p50 %.2f ms, %,d dead tuples | %.2f× | %s |\n",
                    lastHeld.p50(), lastHeld.deadTuples(), firstHeld.p50(), firstHeld.deadTuples(),
                    lastHeld.p50() / firstHeld.p50(), lastHeld.p50() <= 2 * firstHeld.p50() + 1 ? "yes" : "**no**"));
        }
    }

    /** Soak: sizes plateau and p99 does not drift (the second half against the first). */
    private void soakTargets(StringBuilder md) {
        List<MvccWorkloads.Window> w = mvcc.soakWindows;
        if (w.size() < 4) {
            return;
        }
        List<MvccWorkloads.Window> firstHalf = w.subList(1, w.size() / 2);
        List<MvccWorkloads.Window> secondHalf = w.subList(w.size() / 2, w.size());
        double p99First = median(firstHalf.stream().mapToDouble(MvccWorkloads.Window::p99).toArray());
        double p99Second = median(secondHalf.stream().mapToDouble(MvccWorkloads.Window::p99).toArray());
        double drift = p99Second / p99First - 1;
        md.append(String.format(Locale.ROOT, "| %s: p99 drift under 20%% (median window p99, second half against"
                                             + " first) | %.2f ms | %.2f ms | %+.0f%% | %s |\n",
                mvcc.soakName, p99Second, p99First, 100 * drift, drift < 0.2 ? "yes" : "**no**"));
        long sizeHalf = firstHalf.get(firstHalf.size() - 1).tableBytes() + firstHalf.get(firstHalf.size() - 1).indexBytes();
        long sizeEnd = w.get(w.size() - 1).tableBytes() + w.get(w.size() - 1).indexBytes();
        md.append(String.format(Locale.ROOT, "| %s: table and indexes plateau (size at the end ≤ 1.25× at half time) |"
                                             + " %,d kB | %,d kB | %.2f× | %s |\n",
                mvcc.soakName, sizeEnd / 1024, sizeHalf / 1024, (double) sizeEnd / sizeHalf,
                sizeEnd <= 1.25 * sizeHalf ? "yes" : "**no**"));
    }

    private static double median(double[] values) {
        double[] sorted = Arrays.stream(values).sorted().toArray();
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /** What each queue feature costs a drain: its median against the plain drain's, in the same rounds. */
    private void featureSection(StringBuilder md) {
        int backlog = bench.options.count(200_000);
        Measurement plain = bench.find(String.format(PgNotifyWorkloads.FEATURE_PLAIN, backlog));
        if (plain == null || plain.runs.isEmpty()) {
            return;
        }
        md.append("## What each queue feature costs\n\nThe same backlog drained by two consumer threads, plain and with"
                  + " one feature on every message, in each round one after the other.\n\n"
                  + "| Drain | Median | Against plain |\n|---|---:|---:|\n");
        for (String feature : new String[] { PgNotifyWorkloads.FEATURE_PLAIN, PgNotifyWorkloads.FEATURE_KEYED,
                PgNotifyWorkloads.FEATURE_PRIORITY, PgNotifyWorkloads.FEATURE_DEDUP,
                PgNotifyWorkloads.FEATURE_DELAYED }) {
            Measurement m = bench.find(String.format(feature, backlog));
            if (m != null && !m.runs.isEmpty()) {
                md.append(String.format(Locale.ROOT, "| %s | %,d msg/s | %.2f× |\n", m.name,
                        Math.round(m.medianThroughput()), m.medianThroughput() / plain.medianThroughput()));
            }
        }
        md.append("\n");
    }

    private void mvccSection(StringBuilder md) {
        if (mvcc.freeWindows.isEmpty() && mvcc.soakWindows.isEmpty()) {
            return;
        }
        md.append("## Under MVCC pressure\n\n");
        windowTable(md, "The same 1,000 msg/s queue stream twice: free, then while another session holds a REPEATABLE"
                        + " READ snapshot from before the first message to after the last (vacuum may then remove no"
                        + " acknowledged row). Per window: latency, and the table's dead tuples and sizes at its end.",
                mvcc.freeWindows, mvcc.heldWindows);
        windowTable(md, "The same for a topic with one group: the log's partitions and the group's items and cuts.",
                mvcc.topicFreeWindows, mvcc.topicHeldWindows);
        windowTable(md, "The queue stream again, each message with one of 100 keys (per-key order: a keyed claim probes"
                        + " the key index for earlier messages of the key, dead entries included).",
                mvcc.keyedFreeWindows, mvcc.keyedHeldWindows);
        windowTable(md, "The free queue stream against the same stream while an idle session holds a transaction id"
                        + " (`BEGIN; SELECT txid_current();`, then nothing) from before the first message to after the"
                        + " last: it is in progress in every snapshot, and holds back vacuum too.",
                mvcc.freeWindows, mvcc.xidWindows);
        windowTable(md, "The same with keys (100).", mvcc.keyedFreeWindows, mvcc.keyedXidWindows);
        if (!mvcc.soakWindows.isEmpty()) {
            md.append("### Soak\n\n").append(mvcc.soakName).append(", one window a minute.\n\n![Soak](soak.png)\n\n");
            md.append("| Minute | p50 / p99 (ms) | Dead tuples | Table (kB) | Indexes (kB) |\n|---:|---|---:|---:|---:|\n");
            for (MvccWorkloads.Window w : mvcc.soakWindows) {
                md.append(String.format(Locale.ROOT, "| %d | %.2f / %.2f | %,d | %,d | %,d |\n", w.index(), w.p50(),
                        w.p99(), w.deadTuples(), w.tableBytes() / 1024, w.indexBytes() / 1024));
            }
            md.append("\n");
        }
    }

    private static void windowTable(StringBuilder md, String intro, List<MvccWorkloads.Window> free,
                                    List<MvccWorkloads.Window> held) {
        if (free.isEmpty() || held.isEmpty()) {
            return;
        }
        md.append(intro).append("\n\n");
        md.append("| Until (s) | Free p50 / p99 (ms) | Free dead tuples | Free table + indexes (kB) | Held p50 / p99 (ms)"
                  + " | Held dead tuples | Held table + indexes (kB) |\n|---:|---|---:|---:|---|---:|---:|\n");
        for (int i = 0; i < Math.min(free.size(), held.size()); i++) {
            MvccWorkloads.Window f = free.get(i);
            MvccWorkloads.Window h = held.get(i);
            md.append(String.format(Locale.ROOT, "| %d | %.2f / %.2f | %,d | %,d + %,d | %.2f / %.2f | %,d | %,d + %,d |\n",
                    f.seconds(), f.p50(), f.p99(), f.deadTuples(), f.tableBytes() / 1024, f.indexBytes() / 1024,
                    h.p50(), h.p99(), h.deadTuples(), h.tableBytes() / 1024, h.indexBytes() / 1024));
        }
        md.append("\n");
    }

    private void soakChart(Path file) throws IOException {
        org.jfree.data.xy.XYSeries p99 = new org.jfree.data.xy.XYSeries("p99 (ms)");
        org.jfree.data.xy.XYSeries size = new org.jfree.data.xy.XYSeries("table + indexes (MB)");
        org.jfree.data.xy.XYSeries dead = new org.jfree.data.xy.XYSeries("dead tuples (thousands)");
        for (MvccWorkloads.Window w : mvcc.soakWindows) {
            p99.add(w.index(), w.p99());
            size.add(w.index(), (w.tableBytes() + w.indexBytes()) / 1024.0 / 1024);
            dead.add(w.index(), w.deadTuples() / 1000.0);
        }
        org.jfree.data.xy.XYSeriesCollection data = new org.jfree.data.xy.XYSeriesCollection();
        data.addSeries(p99);
        data.addSeries(size);
        data.addSeries(dead);
        JFreeChart chart = ChartFactory.createXYLineChart(mvcc.soakName, "minute", "", data, PlotOrientation.VERTICAL,
                true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        chart.getXYPlot().setBackgroundPaint(Color.WHITE);
        chart.getXYPlot().setRangeGridlinePaint(Color.LIGHT_GRAY);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 450);
    }

    private void ratio(StringBuilder md, String target, String name, String baselineName, double wanted) {
        Measurement m = bench.find(name);
        Measurement baseline = bench.find(baselineName);
        if (m == null || baseline == null || m.runs.isEmpty() || baseline.runs.isEmpty()) {
            return;
        }
        double ratio = m.medianThroughput() / baseline.medianThroughput();
        md.append(String.format(Locale.ROOT, "| %s | %,d msg/s | %s: %,d msg/s | %.2f× | %s |\n", target,
                Math.round(m.medianThroughput()), baselineName, Math.round(baseline.medianThroughput()), ratio,
                ratio >= wanted ? "yes" : "**no**"));
    }

    private void latency(StringBuilder md, String target, String name, double wantedMillis, String floorName) {
        Measurement m = bench.find(name);
        if (m == null || m.runs.isEmpty() || m.medianLatencies() == null) {
            return;
        }
        double p99 = m.medianLatencies().p99();
        Measurement floor = floorName != null ? bench.find(floorName) : null;
        String baseline = floor != null && !floor.runs.isEmpty() && floor.medianLatencies() != null
                ? String.format(Locale.ROOT, "%s: p99 %.2f ms", floorName, floor.medianLatencies().p99()) : "";
        md.append(String.format(Locale.ROOT, "| %s | p99 %.2f ms (p50 %.2f) | %s | %.2f ms | %s |\n", target, p99,
                m.medianLatencies().p50(), baseline, p99, p99 <= wantedMillis ? "yes" : "**no**"));
    }

    /**
     * Met when the workload kept up (every message arrived, at 95 % of the rate the baseline kept or more: at a fixed
     * offered rate, a producer that falls behind shows as a lower rate, while the latencies, measured from each
     * actual send, would not show it) and p99 is within both the bound and the baseline's p99.
     */
    private void latencyVs(StringBuilder md, String target, String name, String baselineName, double wantedMillis) {
        Measurement m = bench.find(name);
        Measurement baseline = bench.find(baselineName);
        if (m == null || baseline == null || m.runs.isEmpty() || baseline.runs.isEmpty() || m.medianLatencies() == null
            || baseline.medianLatencies() == null) {
            return;
        }
        double p99 = m.medianLatencies().p99();
        double baselineP99 = baseline.medianLatencies().p99();
        boolean keptUp = m.runs.stream().allMatch(r -> r.delivered() == r.expected())
                         && m.medianThroughput() >= 0.95 * baseline.medianThroughput();
        md.append(String.format(Locale.ROOT, "| %s | p99 %.2f ms (p50 %.2f)%s | %s: p99 %.2f ms | %.2f× | %s |\n", target,
                p99, m.medianLatencies().p50(), keptUp ? "" : String.format(Locale.ROOT, ", fell behind: %,d msg/s",
                        Math.round(m.medianThroughput())), baselineName, baselineP99,
                p99 / baselineP99, keptUp && p99 <= wantedMillis && p99 <= baselineP99 ? "yes" : "**no**"));
    }

    private List<Measurement> measured() {
        return bench.measurements.stream().filter(m -> !m.runs.isEmpty()).toList();
    }

    private void throughputChart(Path file) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Measurement m : measured()) {
            if (!m.name.contains(" at ")) {
                data.addValue(m.medianThroughput(), m.group, m.name);
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("Throughput (median msg/s, higher is better)", null, "msg/s", data,
                PlotOrientation.HORIZONTAL, true, false, false);
        style(chart);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 60 + 26 * data.getColumnCount());
    }

    private void latencyChart(Path file) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Measurement m : measured()) {
            Run.Latencies l = m.medianLatencies();
            if (l != null && m.name.contains(" at ")) {
                data.addValue(Math.max(0.01, l.p50()), "p50", m.name);
                data.addValue(Math.max(0.01, l.p95()), "p95", m.name);
                data.addValue(Math.max(0.01, l.p99()), "p99", m.name);
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("End-to-end latency at a fixed rate (ms, log scale, lower is better)",
                null, "ms", data, PlotOrientation.HORIZONTAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        LogAxis axis = new LogAxis("ms");
        axis.setSmallestValue(0.01);
        // a tick at each power of ten, written as a plain number of milliseconds
        axis.setTickUnit(new NumberTickUnit(1));
        axis.setNumberFormatOverride(new DecimalFormat("0.##"));
        plot.setRangeAxis(axis);
        style(chart);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 80 + 60 * data.getColumnCount());
    }

    private static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        CategoryAxis categories = plot.getDomainAxis();
        categories.setTickLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        categories.setMaximumCategoryLabelWidthRatio(0.5f);
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setItemMargin(0.02);
        Color[] colors = { new Color(0x4E79A7), new Color(0xF28E2B), new Color(0xE15759), new Color(0x76B7B2) };
        for (int i = 0; i < colors.length; i++) {
            renderer.setSeriesPaint(i, colors[i]);
        }
    }

    private static String join(String... parts) {
        List<String> nonEmpty = new ArrayList<>();
        for (String part : parts) {
            if (part != null && !part.isBlank()) {
                nonEmpty.add(part);
            }
        }
        return String.join("; ", nonEmpty);
    }
}
