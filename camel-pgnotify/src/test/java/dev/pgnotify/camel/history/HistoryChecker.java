package dev.pgnotify.camel.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import dev.pgnotify.camel.history.History.Delivery;
import dev.pgnotify.camel.history.History.Fault;
import dev.pgnotify.camel.history.History.Send;

/**
 * Checks a run's history against pgnotify's guarantees ({@link Invariant}): from the events of every JVM and the
 * database's final state. Times come from one wall clock; {@link #TOLERANCE_MICROS} allows for the microseconds
 * between an event and the moment its time was read.
 * <p>
 * A fault that can take a lease away or lose an acknowledgement ({@link FaultKind#losesLeases()}) excuses a duplicate,
 * a break in per-key order or exclusion, or an attempt that did not fail by plan, when it happened between the two
 * deliveries concerned (its span overlaps theirs); nothing else excuses anything. The window opens a lease time
 * before the earlier delivery started: what a fault takes away is a claim, and a message is claimed (with its batch)
 * a little before its delivery starts, well within a lease time with this harness's batches and work.
 */
public final class HistoryChecker {

    /** Clock tolerance: events of different JVMs read the same clock, a little before or after what they record. */
    static final long TOLERANCE_MICROS = 5_000;

    private final History history;
    private final FinalState state;
    private final HistoryScenario scenario;
    private final CheckResult result = new CheckResult();
    /** Deliveries per token and group ("token group"), in start order. */
    private final Map<String, List<Delivery>> byMessage = new LinkedHashMap<>();
    private final Map<String, FinalState.DeadLetter> deadLetters = new HashMap<>();
    private final Map<String, FinalState.Remaining> remaining = new HashMap<>();

    public HistoryChecker(History history, FinalState state, HistoryScenario scenario) {
        this.history = history;
        this.state = state;
        this.scenario = scenario;
        for (Delivery d : history.deliveries()) {
            byMessage.computeIfAbsent(d.token() + " " + d.group(), k -> new ArrayList<>()).add(d);
        }
        state.deadLetters().forEach(d -> deadLetters.put(d.token() + " " + d.group(), d));
        state.remaining().forEach(r -> remaining.put(r.token() + " " + r.group(), r));
    }

    public CheckResult check(int messagesPlanned) {
        count(messagesPlanned);
        checkSent();
        checkCompleted();
        checkRolledBack();
        checkNotBeforeDue();
        checkDuplicates();
        new KeyChecks(this).check();
        new AftermathChecks(this).check();
        return result;
    }

    private void count(int messagesPlanned) {
        result.messagesPlanned = messagesPlanned;
        history.sends().values().forEach(s -> result.sendOutcomes.merge(s.outcome(), 1, Integer::sum));
        result.deliveries = history.deliveries().size();
        result.deliveredMessages = byMessage.size();
        result.completedMessages = (int) byMessage.values().stream()
                .filter(ds -> ds.stream().anyMatch(Delivery::completed)).count();
        result.deadLetters = state.deadLetters().size();
        result.remaining = state.remaining().size();
        result.unendedDeliveries = (int) history.deliveries().stream()
                .filter(d -> d.end() == null && d.endMicros() == Long.MAX_VALUE).count();
        history.faults().stream().filter(Fault::happened).forEach(f -> result.faults.merge(f.kind(), 1, Integer::sum));
        // the faults planned per message, as the routes met them
        history.deliveries().forEach(d -> {
            if ("FAILED".equals(d.result())) {
                result.faults.merge(FaultKind.ROUTE_FAILURE, 1, Integer::sum);
            } else if ("INTERRUPTED".equals(d.result())) {
                result.faults.merge(FaultKind.INTERRUPT, 1, Integer::sum);
            }
        });
    }

    /** Every delivery and dead letter belongs to a send of the plan. */
    private void checkSent() {
        for (List<Delivery> ds : byMessage.values()) {
            result.checked(Invariant.SENT);
            if (!history.sends().containsKey(ds.get(0).token())) {
                violation(Invariant.SENT, "delivered, never sent", "delivered " + ds.size() + " time(s) but never sent: " + ds.get(0).token()
                                          + " (id " + ds.get(0).id() + ")", ds.get(0).token(), events(ds));
            }
        }
        for (FinalState.DeadLetter dead : state.deadLetters()) {
            result.checked(Invariant.SENT);
            if (!history.sends().containsKey(dead.token())) {
                violation(Invariant.SENT, "dead letter never sent", "a dead letter never sent: " + dead, dead.token(), List.of());
            }
        }
    }

    /** Every acknowledged send completed in every group, or (planned to always fail) is a dead letter there. */
    private void checkCompleted() {
        for (Send send : history.sends().values()) {
            if (!send.acknowledged()) {
                continue;
            }
            for (String group : scenario.checkedGroups()) {
                result.checked(Invariant.COMPLETED);
                List<Delivery> ds = deliveries(send.token(), group);
                FinalState.DeadLetter dead = deadLetters.get(send.token() + " " + group);
                boolean completed = ds.stream().anyMatch(Delivery::completed);
                if (send.alwaysFails() ? dead != null : completed || dead != null) {
                    continue;
                }
                String where = whereIs(send, group, completed);
                violation(Invariant.COMPLETED, cause(where, ds), describe(send) + (group.isEmpty() ? "" : " in group " + group)
                                               + " acknowledged at " + history.at(send.endMicros()) + ", planned "
                                               + send.begin().get("plan") + ", delivered " + ds.size() + " time(s) "
                                               + results(ds) + "; " + where,
                        send.token(), events(send, ds));
            }
        }
    }

    /** Where a message that did not complete is, after the drain: what a reader needs to tell stranded from lost. */
    private String whereIs(Send send, String group, boolean completed) {
        FinalState.Remaining waiting = remaining.get(send.token() + " " + group);
        if (waiting != null && waiting.where().equals("uncut")) {
            return "still waiting: in the topic's log, not yet cut for the group";
        }
        if (waiting != null) {
            return "still waiting " + (waiting.where().equals("batch") ? "in a batch of the group" : "in the queue")
                   + " (attempts " + waiting.attempts() + ", due " + history.at(waiting.availableAtMicros()) + ")";
        }
        if (send.alwaysFails() && completed) {
            return "completed although it always fails";
        }
        if (scenario.topic()) {
            return state.inTopicLog().contains(send.token())
                    ? "in the topic's log, behind the group's cuts, in none of its batches: skipped"
                    : "gone from the topic's log: lost";
        }
        return "neither waiting nor a dead letter: lost";
    }

    /** A rolled-back send is never delivered, dead-lettered or left waiting. */
    private void checkRolledBack() {
        for (Send send : history.sends().values()) {
            if (!"ROLLED_BACK".equals(send.outcome())) {
                continue;
            }
            result.checked(Invariant.ROLLED_BACK);
            List<Delivery> ds = history.deliveries().stream().filter(d -> d.token().equals(send.token())).toList();
            boolean stored = Stream.concat(state.deadLetters().stream().map(FinalState.DeadLetter::token),
                    state.remaining().stream().map(FinalState.Remaining::token)).anyMatch(send.token()::equals);
            if (!ds.isEmpty() || stored) {
                violation(Invariant.ROLLED_BACK, "rolled back, delivered or stored", describe(send) + ", rolled back at " + history.at(send.endMicros())
                                                 + ", was delivered " + ds.size() + " time(s)"
                                                 + (stored ? " and is in the database after the drain" : ""),
                        send.token(), events(send, ds));
            }
        }
    }

    /** A delayed message starts no earlier than its send began plus its delay. */
    private void checkNotBeforeDue() {
        for (Send send : history.sends().values()) {
            if (send.delayMillis() <= 0) {
                continue;
            }
            long due = send.begin().micros() + send.delayMillis() * 1000;
            for (String group : scenario.checkedGroups()) {
                List<Delivery> ds = deliveries(send.token(), group);
                if (ds.isEmpty()) {
                    continue;
                }
                result.checked(Invariant.NOT_BEFORE_DUE);
                Delivery first = ds.get(0);
                if (first.startMicros() < due - TOLERANCE_MICROS) {
                    violation(Invariant.NOT_BEFORE_DUE, "delivered early", describe(send) + " with a delay of " + send.delayMillis()
                                                        + " ms, due at " + history.at(due) + ", started at "
                                                        + history.at(first.startMicros()) + ", "
                                                        + (due - first.startMicros()) / 1000 + " ms early",
                            send.token(), events(send, List.of(first)));
                }
            }
        }
    }

    /**
     * A delivery after a successful one of the same message (and group), or while another runs, is a duplicate: only
     * a lease-losing fault between the two starts excuses it.
     */
    private void checkDuplicates() {
        for (List<Delivery> ds : byMessage.values()) {
            for (int j = 1; j < ds.size(); j++) {
                Delivery later = ds.get(j);
                Delivery earlier = null;
                String how = null;
                for (int i = 0; i < j && earlier == null; i++) {
                    Delivery candidate = ds.get(i);
                    if (candidate.completed() && candidate.endMicros() <= later.startMicros() + TOLERANCE_MICROS) {
                        earlier = candidate;
                        how = "after a successful delivery that ended at " + history.at(candidate.endMicros());
                    } else if (end(candidate) > later.startMicros() + TOLERANCE_MICROS) {
                        earlier = candidate;
                        how = "while a delivery started at " + history.at(candidate.startMicros()) + " still ran";
                    }
                }
                result.checked(Invariant.DUPLICATES);
                if (earlier == null) {
                    continue;
                }
                result.duplicates++;
                Optional<Fault> excuse = excuse(earlier.startMicros(), later.startMicros());
                if (excuse.isPresent()) {
                    result.duplicatesExcusedBy.merge(excuse.get().kind(), 1, Integer::sum);
                } else {
                    Send send = history.sends().get(later.token());
                    violation(Invariant.DUPLICATES, how.startsWith("after") ? "after a successful delivery" : "two at once", (send != null ? describe(send) : later.token())
                                                    + (later.group().isEmpty() ? "" : " in group " + later.group())
                                                    + " delivered again at " + history.at(later.startMicros())
                                                    + " (attempt " + later.attempt() + ", " + later.jvm() + ") " + how
                                                    + " (attempt " + earlier.attempt() + ", " + earlier.jvm() + "); "
                                                    + nearestFault(earlier.startMicros()),
                            later.token(), events(send, ds));
                }
            }
        }
    }

    // --- shared by the checks of other classes ---

    History history() {
        return history;
    }

    HistoryScenario scenario() {
        return scenario;
    }

    CheckResult result() {
        return result;
    }

    FinalState state() {
        return state;
    }

    List<Delivery> deliveries(String token, String group) {
        return byMessage.getOrDefault(token + " " + group, List.of());
    }

    FinalState.DeadLetter deadLetter(String token, String group) {
        return deadLetters.get(token + " " + group);
    }

    /** When a delivery ended: its end, its JVM's kill, or (neither recorded) its start. */
    static long end(Delivery d) {
        return d.endMicros() == Long.MAX_VALUE ? d.startMicros() : d.endMicros();
    }

    /**
     * The first lease-losing fault whose span overlaps the window from a lease time before the earlier delivery's
     * start (its claim) to the later one's start.
     */
    Optional<Fault> excuse(long earlierStart, long laterStart) {
        long from = earlierStart - scenario.consumers().leaseMillis() * 1000 - TOLERANCE_MICROS;
        return history.faults().stream()
                .filter(f -> f.kind().losesLeases() && f.happened())
                .filter(f -> f.beginMicros() <= laterStart + TOLERANCE_MICROS && f.endMicros() >= from)
                .findFirst();
    }

    /** The lease-losing fault that ended last before this time, for a violation's reader. */
    String nearestFault(long micros) {
        return history.faults().stream()
                .filter(f -> f.kind().losesLeases() && f.happened() && f.endMicros() < micros)
                .max(Comparator.comparingLong(Fault::endMicros))
                .map(f -> "the last lease-losing fault before: " + f.kind() + (f.jvm() != null ? " " + f.jvm() : "")
                          + " " + history.at(f.beginMicros()) + ".." + history.at(f.endMicros()) + " ("
                          + (micros - f.endMicros()) / 1000 + " ms before)")
                .orElse("no lease-losing fault before it");
    }

    void violation(Invariant invariant, String cause, String summary, String token, List<Event> events) {
        result.violated(new Violation(invariant, cause, summary, List.of(token), events));
    }

    /** A missing message's cause, short: where it is, and whether it was ever delivered. */
    private static String cause(String where, List<Delivery> ds) {
        int cut = where.indexOf(" (");
        return (cut < 0 ? where : where.substring(0, cut)) + (ds.isEmpty() ? ", never delivered" : ", delivered before");
    }

    static String describe(Send send) {
        return send.token() + " (id " + send.id() + (send.key() != null ? ", key " + send.key() : "")
               + (send.delayMillis() > 0 ? ", delay " + send.delayMillis() + " ms" : "") + ", "
               + send.begin().get("path") + ")";
    }

    static String results(List<Delivery> ds) {
        return ds.stream().map(d -> d.attempt() + ":" + d.result()).toList().toString();
    }

    /** The events of a send and some of its deliveries, in time order. */
    static List<Event> events(Send send, List<Delivery> ds) {
        List<Event> events = new ArrayList<>();
        if (send != null) {
            events.add(send.begin());
            if (send.end() != null) {
                events.add(send.end());
            }
        }
        events.addAll(events(ds));
        events.sort(Comparator.comparingLong(Event::micros));
        return events;
    }

    static List<Event> events(List<Delivery> ds) {
        List<Event> events = new ArrayList<>();
        for (Delivery d : ds) {
            events.add(d.start());
            if (d.end() != null) {
                events.add(d.end());
            }
        }
        return events;
    }
}
