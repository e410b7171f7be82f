package dev.pgnotify.camel.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import dev.pgnotify.camel.history.History.Delivery;
import dev.pgnotify.camel.history.History.Send;

/**
 * What the consumers left behind: the dead letters (each after maxAttempts attempts that failed by plan or that a
 * fault cut short, none after a successful delivery) and the consumer JVMs themselves (claiming with all their threads
 * all along).
 */
final class AftermathChecks {

    private final HistoryChecker checker;
    private final History history;

    AftermathChecks(HistoryChecker checker) {
        this.checker = checker;
        this.history = checker.history();
    }

    void check() {
        checkDeadLetters();
        checkConsumersWorking();
    }

    /**
     * A dead letter has had maxAttempts attempts, none of which completed, each failed by plan or cut short by a fault
     * (a killed JVM, or a lease-losing fault in the window).
     */
    void checkDeadLetters() {
        int maxAttempts = checker.scenario().consumers().maxAttempts();
        for (FinalState.DeadLetter dead : checker.state().deadLetters()) {
            Send send = history.sends().get(dead.token());
            if (send == null) {
                continue;
            }
            checker.result().checked(Invariant.DEAD_LETTERS);
            List<Delivery> ds = checker.deliveries(dead.token(), dead.group());
            List<Event> events = HistoryChecker.events(send, ds);
            String what = HistoryChecker.describe(send) + (dead.group().isEmpty() ? "" : " in group " + dead.group())
                          + " dead-lettered at " + history.at(dead.failedAtMicros()) + " after " + dead.attempts()
                          + " attempt(s), planned " + send.begin().get("plan") + ", deliveries "
                          + HistoryChecker.results(ds);
            Delivery completed = ds.stream().filter(Delivery::completed).findFirst().orElse(null);
            // attempts the plan or a fault explains: planned failures, deliveries cut short by a killed JVM
            long explained = ds.stream().filter(d -> "FAILED".equals(d.result()) || "KILLED".equals(d.result()))
                    .count();
            long aborted = ds.stream().filter(d -> "ABORTED".equals(d.result())).count();
            long from = Math.min(send.endMicros(), ds.isEmpty() ? send.endMicros() : ds.get(0).startMicros());
            if (dead.attempts() < maxAttempts) {
                checker.violation(Invariant.DEAD_LETTERS, "fewer than maxAttempts",
                        what + ": fewer than maxAttempts (" + maxAttempts + ")", dead.token(), events);
            } else if (completed != null && checker.excuse(completed.startMicros(), dead.failedAtMicros()).isEmpty()) {
                checker.violation(Invariant.DEAD_LETTERS, "after a successful delivery",
                        what + ": it had completed at " + history.at(completed.endMicros()) + "; "
                        + checker.nearestFault(completed.startMicros()), dead.token(), events);
            } else if (send.alwaysFails() || explained >= maxAttempts) {
                continue;
            } else if (aborted > 0 && explained + aborted >= maxAttempts) {
                // the route failed only because its thread came to it interrupted: an earlier route left the flag
                checker.violation(Invariant.DEAD_LETTERS, "failed on an interrupt left by another route",
                        what + ": " + aborted + " of its deliveries failed at once, their thread already interrupted"
                        + " when the route began (an earlier route had left the flag set)", dead.token(), events);
            } else if (checker.excuse(from, dead.failedAtMicros()).isEmpty()) {
                checker.violation(Invariant.DEAD_LETTERS, "attempts not explained",
                        what + ": only " + explained + " delivery(ies) failed and no lease-losing fault explains the"
                        + " other attempts; " + checker.nearestFault(from), dead.token(), events);
            }
        }
    }

    /**
     * Every consumer JVM had all its consumer threads in their claim loop at every census (each second): a thread
     * that left it for good (while its route still looked started) leaves its share of the work to the others, or to
     * nobody. One violation per JVM, at its first census short of threads.
     */
    void checkConsumersWorking() {
        Set<String> reported = new HashSet<>();
        for (Event report : history.consumerReports()) {
            checker.result().checked(Invariant.CONSUMERS_WORKING);
            int expected = report.getInt("expected", 0);
            int working = report.getInt("working", 0);
            String jvm = report.get("jvm");
            if (working >= expected || !reported.add(jvm)) {
                continue;
            }
            // what the JVM's routes met that could have stopped a thread: interrupts, aborted deliveries
            List<Delivery> suspects = history.deliveries().stream()
                    .filter(d -> jvm.equals(d.jvm()) && d.startMicros() <= report.micros())
                    .filter(d -> !"OK".equals(d.result()) && !"FAILED".equals(d.result()))
                    .toList();
            List<Event> events = new ArrayList<>(HistoryChecker.events(suspects));
            events.add(report);
            events.sort(Comparator.comparingLong(Event::micros));
            long lastStart = history.deliveries().stream().filter(d -> jvm.equals(d.jvm()))
                    .filter(d -> d.startMicros() <= report.micros())
                    .mapToLong(Delivery::startMicros).max().orElse(0);
            Map<String, Long> byResult = new TreeMap<>(suspects.stream()
                    .collect(Collectors.groupingBy(Delivery::result, Collectors.counting())));
            checker.violation(Invariant.CONSUMERS_WORKING, "consumer threads stopped",
                    jvm + " had " + working + " of its " + expected + " consumer threads claiming at "
                    + history.at(report.micros()) + "; before, its routes met " + byResult
                    + " deliveries; its last delivery before started at "
                    + (lastStart == 0 ? "never" : history.at(lastStart)), jvm, events);
        }
    }
}
