package dev.pgnotify.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.history.CheckResult;
import dev.pgnotify.camel.history.FaultKind;
import dev.pgnotify.camel.history.HistoryReport;
import dev.pgnotify.camel.history.HistoryRun;
import dev.pgnotify.camel.history.HistoryScenario;
import dev.pgnotify.camel.history.Invariant;
import dev.pgnotify.camel.test.PgTestServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The history checker for a long time (not in the default run: {@code -Dbench.historyMinutes=30}): rounds of
 * {@code bench.historyRoundSeconds} (300) of traffic and random faults plus their drain, the scenarios in turn (queue
 * with keys, delays and priorities; topic with two groups; each again with ids from 2^40), each round with its own seed
 * ({@code bench.historySeed} + the round's number), on a restartable server of its own (the faults restart and crash
 * it). Writes history.md beside the benchmark's report: seeds, durations, messages, faults by kind, invariants
 * checked, duplicates and their excuses, and the violations with the command that replays each round.
 */
final class HistoryWorkload {

    static final String NAME = "history";
    private static final Logger LOG = LoggerFactory.getLogger(HistoryWorkload.class);
    private static final List<String> SCENARIOS = List.of("queue", "topic", "queue-high-ids", "topic-high-ids");
    /** Violations spelled out per round: the rest are in the round's report.txt. */
    private static final int VIOLATIONS_PER_ROUND = 10;

    private final BenchOptions options;

    HistoryWorkload(BenchOptions options) {
        this.options = options;
    }

    Path run() throws Exception {
        long started = System.nanoTime();
        long deadline = started + TimeUnit.MINUTES.toNanos(options.historyMinutes());
        int roundSeconds = options.historyRoundSeconds();
        List<HistoryRun.Outcome> outcomes = new ArrayList<>();
        try (PgTestServer server = PgTestServer.embeddedRestartable(Map.of("synchronous_commit", "on"))) {
            // rounds until the time is up: the run lasts at least bench.historyMinutes (the last round may overrun)
            for (int round = 0; outcomes.isEmpty() || System.nanoTime() < deadline; round++) {
                HistoryScenario scenario = HistoryScenario.named(SCENARIOS.get(round % SCENARIOS.size()), roundSeconds);
                long seed = options.historySeed() + round;
                HistoryRun.Outcome outcome = new HistoryRun(scenario, seed, round, server,
                        options.out().resolve("history").resolve(round + "-" + scenario.name() + "-" + seed),
                        scenario.replay(seed)).run();
                LOG.info("History round {}:\n{}", round, outcome.report(VIOLATIONS_PER_ROUND));
                outcomes.add(outcome);
            }
        }
        Files.createDirectories(options.out());
        Path report = options.out().resolve("history.md");
        Files.writeString(report, markdown(outcomes, (System.nanoTime() - started) / 1e9));
        LOG.info("History report: {}", report.toAbsolutePath());
        return report;
    }

    private String markdown(List<HistoryRun.Outcome> outcomes, double seconds) {
        StringBuilder md = new StringBuilder("# camel-pgnotify history checker: random faults for "
                                             + options.historyMinutes() + " minutes\n\n");
        md.append("Run with `mvn -pl camel-pgnotify,camel-pgnotify-bench -am package exec:java -DskipTests"
                  + " -Dbench.only=history -Dbench.memory=false -Dbench.kafka=false -Dbench.historyMinutes="
                  + options.historyMinutes() + "` (not part of the default run).\n\n");
        md.append(String.format(Locale.ROOT, "Run on %s in %.0f s: %d round(s) of %d s of traffic and faults, then a"
                                             + " drain with the faults stopped. Each round replays on its own with the"
                                             + " command in its row.\n\n",
                ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z")), seconds,
                outcomes.size(), options.historyRoundSeconds()));
        Totals totals = new Totals(outcomes);
        md.append("## Summary\n\n| Rounds | Messages planned | Sends acknowledged | Deliveries | Duplicates (all excused?)"
                  + " | Faults scheduled | Violations |\n|---:|---:|---:|---:|---:|---:|---:|\n");
        md.append(String.format(Locale.ROOT, "| %d | %,d | %,d | %,d | %,d (%s) | %,d | **%d** |\n\n", outcomes.size(),
                totals.planned, totals.acknowledged, totals.deliveries, totals.duplicates,
                totals.unexcusedDuplicates == 0 ? "yes" : totals.unexcusedDuplicates + " not", totals.faults,
                totals.violations));
        md.append("## Rounds\n\n| # | Scenario | Seed | Traffic + faults (s) | Drain (s) | Messages | Acknowledged |"
                  + " Deliveries | Dead letters | Duplicates | Faults scheduled | Violations | Replay |\n"
                  + "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (int i = 0; i < outcomes.size(); i++) {
            HistoryRun.Outcome o = outcomes.get(i);
            CheckResult r = o.result();
            md.append(String.format(Locale.ROOT, "| %d | %s | %d | %.0f | %.0f%s | %,d | %,d | %,d | %d | %d | %d | %d |"
                                                 + " `%s` |\n",
                    i, o.scenario().name(), o.seed(), o.faultPhaseMillis() / 1000.0, o.drainMillis() / 1000.0,
                    o.drained() ? "" : " (not drained)", r.messagesPlanned(),
                    r.sendOutcomes().getOrDefault("ACK", 0), r.deliveries(), r.deadLetters(), r.duplicates(),
                    r.scheduledFaultCount(), r.violations().size(), o.replay()));
        }
        md.append("\n## Faults injected, by kind\n\nScheduled faults, then those planned per message (route failures and"
                  + " interrupts, as the routes met them).\n\n| Kind | Count | Can lose a lease (excuses duplicates) |\n"
                  + "|---|---:|:-:|\n");
        totals.faultsByKind.forEach((kind, count) -> md.append("| ").append(kind).append(" | ").append(count)
                .append(" | ").append(kind.losesLeases() ? "yes" : "no").append(" |\n"));
        md.append("\n## Invariants\n\n| Invariant | Checks | Violations | What it checks |\n|---|---:|---:|---|\n");
        for (Invariant invariant : Invariant.values()) {
            int[] c = totals.checks.get(invariant);
            md.append(String.format(Locale.ROOT, "| %s | %,d | %d | %s |\n", invariant, c[0], c[1],
                    invariant.description()));
        }
        md.append("\n## Duplicates and their excuses\n\n").append(String.format(Locale.ROOT,
                "%,d duplicate deliveries (a delivery after a successful one, or two at once), excused by: %s. Per-key"
                + " order or exclusion broken where a lease-losing fault came between: %s.\n\n", totals.duplicates,
                HistoryReport.kinds(totals.duplicatesExcused), HistoryReport.kinds(totals.keyBreaksExcused)));
        md.append("## Violations\n\n");
        if (totals.violations == 0) {
            md.append("None.\n");
        }
        for (int i = 0; i < outcomes.size(); i++) {
            HistoryRun.Outcome o = outcomes.get(i);
            if (o.passed()) {
                continue;
            }
            md.append(String.format(Locale.ROOT, "### Round %d: %s, seed %d, %d violation(s) %s\n\n```\n", i,
                    o.scenario().name(), o.seed(), o.result().violations().size(), o.result().violationCounts()));
            o.result().violations().stream().limit(VIOLATIONS_PER_ROUND)
                    .forEach(v -> md.append(v.describe(o.replay())).append("\n\n"));
            if (o.result().violations().size() > VIOLATIONS_PER_ROUND) {
                md.append("... and ").append(o.result().violations().size() - VIOLATIONS_PER_ROUND)
                        .append(" more: ").append(o.directory().resolve("report.txt")).append('\n');
            }
            md.append("```\n\n");
        }
        return md.toString();
    }

    /** The rounds added up. */
    private static final class Totals {

        final Map<FaultKind, Integer> faultsByKind = new EnumMap<>(FaultKind.class);
        final Map<FaultKind, Integer> duplicatesExcused = new EnumMap<>(FaultKind.class);
        final Map<FaultKind, Integer> keyBreaksExcused = new EnumMap<>(FaultKind.class);
        final Map<Invariant, int[]> checks = new EnumMap<>(Invariant.class);
        long planned;
        long acknowledged;
        long deliveries;
        long duplicates;
        long unexcusedDuplicates;
        long faults;
        long violations;

        Totals(List<HistoryRun.Outcome> outcomes) {
            for (Invariant invariant : Invariant.values()) {
                checks.put(invariant, new int[2]);
            }
            for (HistoryRun.Outcome o : outcomes) {
                CheckResult r = o.result();
                planned += r.messagesPlanned();
                acknowledged += r.sendOutcomes().getOrDefault("ACK", 0);
                deliveries += r.deliveries();
                duplicates += r.duplicates();
                unexcusedDuplicates += r.violationCounts().get(Invariant.DUPLICATES);
                faults += r.scheduledFaultCount();
                violations += r.violations().size();
                r.faults().forEach((kind, count) -> faultsByKind.merge(kind, count, Integer::sum));
                r.duplicatesExcusedBy().forEach((kind, count) -> duplicatesExcused.merge(kind, count, Integer::sum));
                r.keyBreaksExcusedBy().forEach((kind, count) -> keyBreaksExcused.merge(kind, count, Integer::sum));
                r.checks().forEach((invariant, c) -> {
                    checks.get(invariant)[0] += c[0];
                    checks.get(invariant)[1] += c[1];
                });
            }
        }
    }
}
