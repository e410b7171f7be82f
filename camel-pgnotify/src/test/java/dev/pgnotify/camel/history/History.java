package dev.pgnotify.camel.history;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's events put together: each send with its begin and end, each delivery with its start and end (paired within
 * the thread that ran it), each fault with its begin and end. A delivery without an end was cut short by the death of
 * its JVM; it is taken to end when the JVM was killed.
 */
public final class History {

    /** A send: begun, and ended with an outcome (ACK, FAILED, ROLLED_BACK), or never ended (its JVM was killed). */
    public record Send(String token, Event begin, Event end) {

        public String outcome() {
            return end == null ? "NO_END" : end.get("outcome");
        }

        public boolean acknowledged() {
            return "ACK".equals(outcome());
        }

        public Long id() {
            return end == null || end.get("id") == null ? null : end.getLong("id", 0);
        }

        public String key() {
            return begin.get("key");
        }

        public long delayMillis() {
            return begin.getLong("delay", 0);
        }

        public boolean alwaysFails() {
            return "always-fail".equals(begin.get("plan"));
        }

        /** The planned failures before the delivery that succeeds (0 for none; irrelevant when it always fails). */
        public int plannedFailures() {
            String plan = begin.get("plan");
            return plan != null && plan.startsWith("fail-first-") ? Integer.parseInt(plan.substring(11)) : 0;
        }

        public long endMicros() {
            return end == null ? Long.MAX_VALUE : end.micros();
        }
    }

    /** A delivery: started, and ended with a result, or cut short by its JVM's death (end: the kill). */
    public record Delivery(String token, long id, int attempt, String group, String jvm, Event start, Event end,
                           long endMicros) {

        /** OK, INTERRUPTED (completed, with the thread's interrupt flag left set), FAILED, ABORTED, or KILLED. */
        public String result() {
            return end == null ? "KILLED" : end.get("result");
        }

        /** Whether the route completed the message (so it is to be acknowledged). */
        public boolean completed() {
            return end != null && ("OK".equals(end.get("result")) || "INTERRUPTED".equals(end.get("result")));
        }

        public long startMicros() {
            return start.micros();
        }
    }

    /** A fault, from its begin to its end (an end without a begin: the fault failed before it began). */
    public record Fault(int number, FaultKind kind, String jvm, Event begin, Event end) {

        public long beginMicros() {
            return begin != null ? begin.micros() : end.micros();
        }

        public long endMicros() {
            return end != null ? end.micros() : Long.MAX_VALUE;
        }

        /** Whether it happened at all (a kill of a producer that had finished did not). */
        public boolean happened() {
            return (end == null || end.get("error") == null || begin != null)
                   && !(end != null && "skipped".equals(end.get("detail")));
        }
    }

    private final long runStartMicros;
    private final Map<String, Send> sends;
    private final List<Delivery> deliveries;
    private final List<Fault> faults;
    private final List<Event> consumerReports;

    private History(long runStartMicros, Map<String, Send> sends, List<Delivery> deliveries, List<Fault> faults,
                    List<Event> consumerReports) {
        this.runStartMicros = runStartMicros;
        this.sends = sends;
        this.deliveries = deliveries;
        this.faults = faults;
        this.consumerReports = consumerReports;
    }

    public static History of(List<Event> events) {
        long runStart = events.stream().filter(e -> e.type().equals(EventLog.RUN)).mapToLong(e -> e.getLong("start",
                e.micros())).findFirst().orElse(events.isEmpty() ? 0 : events.get(0).micros());
        Map<String, Event[]> sendEvents = new LinkedHashMap<>();
        Map<Integer, Event[]> faultEvents = new LinkedHashMap<>();
        Map<String, Deque<Event>> openByThread = new HashMap<>();
        Map<Event, Event[]> pairs = new IdentityHashMap<>();
        List<Event[]> starts = new ArrayList<>();
        for (Event event : events) {
            switch (event.type()) {
                case EventLog.SEND_BEGIN -> sendEvents.computeIfAbsent(event.get("token"), k -> new Event[2])[0] = event;
                case EventLog.SEND_END -> sendEvents.computeIfAbsent(event.get("token"), k -> new Event[2])[1] = event;
                case EventLog.FAULT_BEGIN -> faultEvents.computeIfAbsent(event.getInt("fault", -1),
                        k -> new Event[2])[0] = event;
                case EventLog.FAULT_END -> faultEvents.computeIfAbsent(event.getInt("fault", -1),
                        k -> new Event[2])[1] = event;
                case EventLog.DELIVERY_START -> {
                    Event[] pair = { event, null };
                    pairs.put(event, pair);
                    starts.add(pair);
                    openByThread.computeIfAbsent(event.get("jvm") + "/" + event.get("thread"), k -> new ArrayDeque<>())
                            .push(event);
                }
                case EventLog.DELIVERY_END -> pairEnd(event, openByThread, pairs);
                default -> {
                    // RUN, JVM_START: context only
                }
            }
        }
        List<Fault> faults = new ArrayList<>();
        faultEvents.forEach((number, pair) -> {
            Event any = pair[0] != null ? pair[0] : pair[1];
            faults.add(new Fault(number, FaultKind.valueOf(any.get("kind")), any.get("jvm"), pair[0], pair[1]));
        });
        faults.sort(Comparator.comparingLong(Fault::beginMicros));
        Map<String, Long> kills = new HashMap<>();
        for (Fault fault : faults) {
            if ((fault.kind() == FaultKind.KILL_CONSUMER || fault.kind() == FaultKind.KILL_PRODUCER)
                && fault.jvm() != null) {
                kills.put(fault.jvm(), fault.beginMicros());
            }
        }
        List<Delivery> deliveries = new ArrayList<>();
        for (Event[] pair : starts) {
            Event start = pair[0];
            String jvm = start.get("jvm");
            long end = pair[1] != null ? pair[1].micros() : kills.getOrDefault(jvm, Long.MAX_VALUE);
            deliveries.add(new Delivery(start.get("token"), start.getLong("id", -1), start.getInt("attempt", 0),
                    start.get("group") == null ? "" : start.get("group"), jvm, start, pair[1], end));
        }
        deliveries.sort(Comparator.comparingLong(Delivery::startMicros));
        Map<String, Send> sends = new LinkedHashMap<>();
        sendEvents.forEach((token, pair) -> {
            if (pair[0] != null) {
                sends.put(token, new Send(token, pair[0], pair[1]));
            }
        });
        List<Event> consumerReports = events.stream().filter(e -> e.type().equals(EventLog.CONSUMERS)).toList();
        return new History(runStart, sends, deliveries, faults, consumerReports);
    }

    /** Pairs an end with the latest unended start of its token on its thread (a thread runs one delivery at a time). */
    private static void pairEnd(Event end, Map<String, Deque<Event>> openByThread, Map<Event, Event[]> pairs) {
        Deque<Event> open = openByThread.get(end.get("jvm") + "/" + end.get("thread"));
        if (open == null) {
            return;
        }
        for (Iterator<Event> it = open.iterator(); it.hasNext(); ) {
            Event start = it.next();
            if (start.get("token").equals(end.get("token"))) {
                it.remove();
                pairs.get(start)[1] = end;
                return;
            }
        }
    }

    public long runStartMicros() {
        return runStartMicros;
    }

    public Map<String, Send> sends() {
        return sends;
    }

    public List<Delivery> deliveries() {
        return deliveries;
    }

    public List<Fault> faults() {
        return faults;
    }

    /** What the consumer JVMs said of their consumer threads, every second, in time order. */
    public List<Event> consumerReports() {
        return consumerReports;
    }

    /** Seconds since the run's start, to the millisecond: how reports name times. */
    public String at(long micros) {
        if (micros == Long.MAX_VALUE) {
            return "never";
        }
        return String.format(java.util.Locale.ROOT, "+%.3fs", (micros - runStartMicros) / 1e6);
    }
}
