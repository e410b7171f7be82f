package dev.pgnotify.camel.history;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a check found: the counts a report shows (sends by outcome, deliveries, duplicates and what excused them,
 * faults by kind, checks per invariant) and every violation. Filled by {@link HistoryChecker}.
 */
public final class CheckResult {

    final Map<String, Integer> sendOutcomes = new TreeMap<>();
    final Map<FaultKind, Integer> faults = new EnumMap<>(FaultKind.class);
    final Map<FaultKind, Integer> duplicatesExcusedBy = new EnumMap<>(FaultKind.class);
    final Map<FaultKind, Integer> keyBreaksExcusedBy = new EnumMap<>(FaultKind.class);
    /** Deliveries of a key at once whose sends overlapped in time: not ordered, by the documented semantics. */
    int keyOverlapsNotOrdered;
    final Map<Invariant, int[]> checks = new EnumMap<>(Invariant.class);
    final List<Violation> violations = new ArrayList<>();
    int messagesPlanned;
    int deliveries;
    int deliveredMessages;
    int completedMessages;
    int deadLetters;
    int remaining;
    int duplicates;
    int unendedDeliveries;

    CheckResult() {
        for (Invariant invariant : Invariant.values()) {
            checks.put(invariant, new int[2]);
        }
    }

    /** One check of an invariant, passed or not. */
    void checked(Invariant invariant) {
        checks.get(invariant)[0]++;
    }

    void violated(Violation violation) {
        checks.get(violation.invariant())[1]++;
        violations.add(violation);
    }

    public List<Violation> violations() {
        return Collections.unmodifiableList(violations);
    }

    public Map<String, Integer> sendOutcomes() {
        return sendOutcomes;
    }

    public Map<FaultKind, Integer> faults() {
        return faults;
    }

    public Map<FaultKind, Integer> duplicatesExcusedBy() {
        return duplicatesExcusedBy;
    }

    public int keyOverlapsNotOrdered() {
        return keyOverlapsNotOrdered;
    }

    public Map<FaultKind, Integer> keyBreaksExcusedBy() {
        return keyBreaksExcusedBy;
    }

    /** Per invariant: {checks made, violations found}. */
    public Map<Invariant, int[]> checks() {
        return checks;
    }

    public int messagesPlanned() {
        return messagesPlanned;
    }

    public int deliveries() {
        return deliveries;
    }

    /** Messages (per group, in mode=topic) delivered at least once. */
    public int deliveredMessages() {
        return deliveredMessages;
    }

    /** Messages (per group) whose route completed at least once. */
    public int completedMessages() {
        return completedMessages;
    }

    public int deadLetters() {
        return deadLetters;
    }

    /** Messages still waiting after the drain. */
    public int remaining() {
        return remaining;
    }

    /** Deliveries after a successful one of the same message (and group), or at the same time as another. */
    public int duplicates() {
        return duplicates;
    }

    /** Deliveries whose end is not recorded although their JVM was not killed (counted as instantaneous). */
    public int unendedDeliveries() {
        return unendedDeliveries;
    }

    /** The scheduled faults that happened (kills, terminations, freezes, restarts...), not the per-message ones. */
    public int scheduledFaultCount() {
        return faults.entrySet().stream()
                .filter(e -> e.getKey() != FaultKind.ROUTE_FAILURE && e.getKey() != FaultKind.INTERRUPT)
                .mapToInt(Map.Entry::getValue).sum();
    }

    /** Violations per invariant and cause ("INVARIANT: cause"), most frequent first. */
    public Map<String, Integer> violationCauses() {
        Map<String, Integer> causes = new java.util.LinkedHashMap<>();
        violations.stream().collect(java.util.stream.Collectors.groupingBy(v -> v.invariant() + ": " + v.cause(),
                        java.util.stream.Collectors.counting()))
                .entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> causes.put(e.getKey(), e.getValue().intValue()));
        return causes;
    }

    /** Violations per invariant, in the invariants' order. */
    public Map<Invariant, Integer> violationCounts() {
        Map<Invariant, Integer> counts = new EnumMap<>(Invariant.class);
        checks.forEach((invariant, c) -> counts.put(invariant, c[1]));
        return counts;
    }
}
