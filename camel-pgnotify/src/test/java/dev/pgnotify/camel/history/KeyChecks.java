package dev.pgnotify.camel.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.pgnotify.camel.history.History.Delivery;
import dev.pgnotify.camel.history.History.Fault;
import dev.pgnotify.camel.history.History.Send;

/**
 * The per-key guarantees (CamelPgNotifyKey), per group in mode=topic: order (a send acknowledged before another of its
 * key began is completed, or dead-lettered, before the other's first delivery starts) and exclusion (never two
 * deliveries of a key at once). Either may break only where a lease-losing fault came between the two deliveries.
 */
final class KeyChecks {

    private final HistoryChecker checker;
    private final History history;
    private final CheckResult result;

    KeyChecks(HistoryChecker checker) {
        this.checker = checker;
        this.history = checker.history();
        this.result = checker.result();
    }

    void check() {
        Map<String, List<Send>> byKey = new LinkedHashMap<>();
        for (Send send : history.sends().values()) {
            if (send.key() != null && !"ROLLED_BACK".equals(send.outcome())) {
                byKey.computeIfAbsent(send.key(), k -> new ArrayList<>()).add(send);
            }
        }
        for (String group : checker.scenario().checkedGroups()) {
            byKey.forEach((key, sends) -> {
                checkOrder(group, sends);
                checkExclusive(group, key, sends);
            });
        }
    }

    private void checkOrder(String group, List<Send> sends) {
        for (Send later : sends) {
            List<Delivery> laterDeliveries = checker.deliveries(later.token(), group);
            if (laterDeliveries.isEmpty()) {
                continue;
            }
            long start = laterDeliveries.get(0).startMicros();
            Send worst = null;
            long worstCompletion = 0;
            for (Send earlier : sends) {
                if (earlier == later || !earlier.acknowledged() || earlier.endMicros() >= later.begin().micros()) {
                    continue;
                }
                long completion = completion(earlier, group);
                if (completion == Long.MAX_VALUE) {
                    // never completed: a COMPLETED violation of its own
                    continue;
                }
                result.checked(Invariant.KEY_ORDER);
                if (start >= completion - HistoryChecker.TOLERANCE_MICROS) {
                    continue;
                }
                Optional<Fault> excuse = checker.excuse(lastStartBefore(earlier, group, start), start);
                if (excuse.isPresent()) {
                    result.keyBreaksExcusedBy.merge(excuse.get().kind(), 1, Integer::sum);
                } else if (worst == null || completion > worstCompletion) {
                    worst = earlier;
                    worstCompletion = completion;
                }
            }
            if (worst != null) {
                List<Delivery> worstDeliveries = checker.deliveries(worst.token(), group);
                List<Event> events = HistoryChecker.events(worst, worstDeliveries);
                events.addAll(HistoryChecker.events(later, laterDeliveries));
                events.sort(Comparator.comparingLong(Event::micros));
                checker.violation(Invariant.KEY_ORDER, "ahead of an earlier send of its key", HistoryChecker.describe(later)
                                                       + (group.isEmpty() ? "" : " in group " + group)
                                                       + " started at " + history.at(start) + ", before "
                                                       + HistoryChecker.describe(worst) + " had completed (at "
                                                       + history.at(worstCompletion) + "), although that one was"
                                                       + " acknowledged at " + history.at(worst.endMicros())
                                                       + ", before this one was sent at "
                                                       + history.at(later.begin().micros()) + "; "
                                                       + checker.nearestFault(start),
                        later.token(), events);
            }
        }
    }

    /** When a message was done with in the group: its first successful delivery's end, or its dead-lettering. */
    private long completion(Send send, String group) {
        long completion = checker.deliveries(send.token(), group).stream().filter(Delivery::completed)
                .mapToLong(Delivery::endMicros).min().orElse(Long.MAX_VALUE);
        FinalState.DeadLetter dead = checker.deadLetter(send.token(), group);
        return dead == null ? completion : Math.min(completion, dead.failedAtMicros());
    }

    /** The start of the message's last delivery before this time, or (none) the end of its send. */
    private long lastStartBefore(Send send, String group, long micros) {
        long last = send.endMicros();
        for (Delivery d : checker.deliveries(send.token(), group)) {
            if (d.startMicros() <= micros) {
                last = d.startMicros();
            }
        }
        return Math.min(last, micros);
    }

    /**
     * No two messages of a key at once — for two whose sends did not overlap (one acknowledged before the other began):
     * sends of one key that overlap are not ordered against each other (a lower id may commit after a higher one was
     * claimed), as the documentation says, and may then run at once.
     */
    private void checkExclusive(String group, String key, List<Send> sends) {
        Map<String, Send> byToken = new HashMap<>();
        sends.forEach(s -> byToken.put(s.token(), s));
        List<Delivery> deliveries = new ArrayList<>();
        sends.forEach(s -> deliveries.addAll(checker.deliveries(s.token(), group)));
        deliveries.sort(Comparator.comparingLong(Delivery::startMicros));
        List<Delivery> running = new ArrayList<>();
        for (Delivery next : deliveries) {
            running.removeIf(d -> HistoryChecker.end(d) <= next.startMicros() + HistoryChecker.TOLERANCE_MICROS);
            result.checked(Invariant.KEY_EXCLUSIVE);
            for (Delivery other : running) {
                if (other.token().equals(next.token())) {
                    // the same message twice at once: a duplicate, checked as such
                    continue;
                }
                if (overlap(byToken.get(other.token()), byToken.get(next.token()))) {
                    result.keyOverlapsNotOrdered++;
                    continue;
                }
                Optional<Fault> excuse = checker.excuse(other.startMicros(), next.startMicros());
                if (excuse.isPresent()) {
                    result.keyBreaksExcusedBy.merge(excuse.get().kind(), 1, Integer::sum);
                    continue;
                }
                List<Event> events = new ArrayList<>(HistoryChecker.events(List.of(other, next)));
                events.sort(Comparator.comparingLong(Event::micros));
                checker.violation(Invariant.KEY_EXCLUSIVE, "two of a key at once", "key " + key + (group.isEmpty() ? "" : " in group " + group)
                                                           + ": " + next.token() + " (id " + next.id() + ", "
                                                           + next.jvm() + ") started at "
                                                           + history.at(next.startMicros()) + " while "
                                                           + other.token() + " (id " + other.id() + ", " + other.jvm()
                                                           + ", started at " + history.at(other.startMicros())
                                                           + ") ran until " + history.at(HistoryChecker.end(other))
                                                           + "; " + checker.nearestFault(other.startMicros()),
                        next.token(), events);
                break;
            }
            running.add(next);
        }
    }

    /** Whether two sends overlapped in time: neither was acknowledged before the other began. */
    private static boolean overlap(Send a, Send b) {
        return a != null && b != null && a.endMicros() > b.begin().micros() && b.endMicros() > a.begin().micros();
    }
}
