package dev.pgnotify.camel.history;

import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A run's report as text: what ran (scenario, seed, how to replay it, how long each phase took), the counts (sends by
 * outcome, deliveries, duplicates and what excused them, faults by kind), each invariant with its checks and
 * violations, then the violations themselves with their event lines.
 */
public final class HistoryReport {

    private HistoryReport() {
    }

    public static String text(HistoryRun.Outcome outcome, int maxViolations) {
        CheckResult r = outcome.result();
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "History run %s, seed %d: %s%n", outcome.scenario().name(),
                outcome.seed(), outcome.passed() ? "no violation" : r.violations().size() + " VIOLATION(S)"));
        text.append("  replay: ").append(outcome.replay()).append('\n');
        text.append(String.format(Locale.ROOT, "  faults and sends %.1f s, drain %.1f s%s, in all %.1f s; files in %s%n",
                outcome.faultPhaseMillis() / 1000.0, outcome.drainMillis() / 1000.0,
                outcome.drained() ? "" : " (NOT drained)", outcome.totalMillis() / 1000.0, outcome.directory()));
        text.append(String.format(Locale.ROOT, "  messages: %d planned, sends %s%n", r.messagesPlanned(),
                r.sendOutcomes()));
        text.append(String.format(Locale.ROOT, "  deliveries: %d of %d message(s)%s, %d completed, %d dead letter(s),"
                                               + " %d still waiting after the drain%s%n",
                r.deliveries(), r.deliveredMessages(), outcome.scenario().topic() ? " and group(s)" : "",
                r.completedMessages(), r.deadLetters(), r.remaining(),
                r.unendedDeliveries() > 0 ? ", " + r.unendedDeliveries() + " delivery(ies) without an end" : ""));
        text.append(String.format(Locale.ROOT, "  duplicates: %d, excused by %s; per-key breaks excused by %s;"
                                               + " %d of a key at once from sends that overlapped (not ordered)%n",
                r.duplicates(), kinds(r.duplicatesExcusedBy()), kinds(r.keyBreaksExcusedBy()),
                r.keyOverlapsNotOrdered()));
        text.append("  faults: ").append(kinds(r.faults())).append('\n');
        text.append("  invariants (checks / violations):\n");
        r.checks().forEach((invariant, c) -> text.append(String.format(Locale.ROOT, "    %-15s %7d / %d  %s%n",
                invariant, c[0], c[1], invariant.description())));
        if (!r.violations().isEmpty()) {
            text.append("  violations by cause:\n");
            r.violationCauses().forEach((cause, count) -> text.append(String.format(Locale.ROOT, "    %5d  %s%n",
                    count, cause)));
        }
        int shown = 0;
        for (Violation violation : r.violations()) {
            if (shown++ == maxViolations) {
                text.append("  ... and ").append(r.violations().size() - maxViolations)
                        .append(" more violation(s): see report.txt in ").append(outcome.directory()).append('\n');
                break;
            }
            text.append("  ").append(violation.describe(outcome.replay()).replace("\n", "\n  ")).append('\n');
        }
        return text.toString();
    }

    /** A count per kind, or "none". */
    public static String kinds(Map<FaultKind, Integer> counts) {
        if (counts.isEmpty()) {
            return "none";
        }
        return counts.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    }
}
