package dev.pgnotify.camel.history;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checker on small histories written by hand, no database: each invariant flags what breaks it, and a
 * lease-losing fault in the window excuses what it may. Times are milliseconds after the run's start.
 */
class HistoryCheckerTest {

    private static final HistoryScenario QUEUE = HistoryScenario.queue(30);
    private static final String OK = "OK";

    private final List<Event> events = new ArrayList<>();
    private final List<FinalState.DeadLetter> dead = new ArrayList<>();
    private final List<FinalState.Remaining> remaining = new ArrayList<>();

    @Test
    void aCleanHistoryPasses() {
        send("m1", null, 0, "succeed", 10, 12, "ACK");
        delivery("m1", 1, "c0", "t1", 20, 30, OK);
        CheckResult result = check();
        assertEquals(List.of(), result.violations());
        assertEquals(1, result.completedMessages());
    }

    @Test
    void aDuplicateNeedsALeaseLosingFaultBetween() {
        send("m1", null, 0, "succeed", 10, 12, "ACK");
        delivery("m1", 1, "c0", "t1", 20, 30, OK);
        delivery("m1", 2, "c1", "t1", 8000, 8010, OK);
        assertEquals(List.of(Invariant.DUPLICATES), invariants(check()));

        // the same history with a consumer killed in between: excused
        fault(0, FaultKind.KILL_CONSUMER, "c0", 5000, 6000);
        CheckResult excused = check();
        assertEquals(List.of(), excused.violations());
        assertEquals(Map.of(FaultKind.KILL_CONSUMER, 1), excused.duplicatesExcusedBy());
    }

    @Test
    void aSessionHoldingAnXidExcusesNothing() {
        send("m1", null, 0, "succeed", 10, 12, "ACK");
        delivery("m1", 1, "c0", "t1", 20, 30, OK);
        delivery("m1", 2, "c1", "t1", 8000, 8010, OK);
        fault(0, FaultKind.IDLE_IN_TRANSACTION, "session", 5000, 6000);
        assertEquals(List.of(Invariant.DUPLICATES), invariants(check()));
    }

    @Test
    void aMissingMessageIsReportedWithWhereItIs() {
        send("m1", null, 0, "succeed", 10, 12, "ACK");
        send("m2", null, 0, "succeed", 10, 12, "ACK");
        remaining.add(new FinalState.Remaining("m2", 2, "", 1, micros(900), null, "queue"));
        CheckResult result = check();
        assertEquals(List.of(Invariant.COMPLETED, Invariant.COMPLETED), invariants(result));
        assertTrue(result.violations().get(0).summary().contains("lost"), result.violations().get(0).summary());
        assertTrue(result.violations().get(1).summary().contains("still waiting in the queue (attempts 1"),
                result.violations().get(1).summary());
    }

    @Test
    void aMessageThatAlwaysFailsMustBeADeadLetterAfterMaxAttempts() {
        send("m1", null, 0, "always-fail", 10, 12, "ACK");
        delivery("m1", 1, "c0", "t1", 20, 30, "FAILED");
        assertEquals(List.of(Invariant.COMPLETED), invariants(check()));

        dead.add(new FinalState.DeadLetter("m1", 1, "", 2, micros(40), "planned failure"));
        assertEquals(List.of(Invariant.DEAD_LETTERS), invariants(check()), "2 attempts < maxAttempts 3");
    }

    @Test
    void nothingRolledBackIsDelivered() {
        send("m1", null, 0, "succeed", 10, 12, "ROLLED_BACK");
        delivery("m1", 1, "c0", "t1", 20, 30, OK);
        assertEquals(List.of(Invariant.ROLLED_BACK), invariants(check()));
    }

    @Test
    void nothingIsDeliveredBeforeItIsDue() {
        send("m1", null, 1000, "succeed", 10, 12, "ACK");
        delivery("m1", 1, "c0", "t1", 500, 510, OK);
        assertEquals(List.of(Invariant.NOT_BEFORE_DUE), invariants(check()));
    }

    @Test
    void aKeysLaterSendWaitsForTheEarlierOne() {
        send("m1", "k", 0, "succeed", 10, 12, "ACK");
        send("m2", "k", 0, "succeed", 20, 22, "ACK");
        delivery("m2", 1, "c0", "t1", 30, 40, OK);
        delivery("m1", 1, "c0", "t1", 50, 60, OK);
        assertEquals(List.of(Invariant.KEY_ORDER), invariants(check()));
    }

    @Test
    void twoDeliveriesOfAKeyNeverRunAtOnce() {
        send("m1", "k", 0, "succeed", 10, 12, "ACK");
        send("m2", "k", 0, "succeed", 14, 16, "ACK");
        delivery("m1", 1, "c0", "t1", 30, 60, OK);
        delivery("m2", 1, "c1", "t1", 40, 70, OK);
        assertTrue(invariants(check()).contains(Invariant.KEY_EXCLUSIVE));
    }

    @Test
    void sendsOfAKeyThatOverlapAreNotOrdered() {
        send("m1", "k", 0, "succeed", 10, 13, "ACK");
        send("m2", "k", 0, "succeed", 11, 12, "ACK");
        delivery("m2", 1, "c1", "t1", 20, 50, OK);
        delivery("m1", 1, "c0", "t1", 30, 60, OK);
        assertEquals(List.of(), invariants(check()));
    }

    @Test
    void aConsumerThatStoppedClaimingIsReported() {
        send("m1", null, 0, "succeed", 10, 12, "ACK");
        delivery("m1", 1, "c0", "t1", 20, 30, "INTERRUPTED");
        event(5000, EventLog.CONSUMERS, "jvm", "c0", "expected", 2, "working", 0);
        assertEquals(List.of(Invariant.CONSUMERS_WORKING), invariants(check()));
    }

    @Test
    void eventLinesRoundTrip() {
        Event event = Event.parse("123\tSEND_END\ttoken=m1\tid=\toutcome=ACK", "main.events", 7);
        assertEquals("m1", event.get("token"));
        assertEquals(null, event.get("id"));
        assertEquals("main.events:7  123\tSEND_END\ttoken=m1\tid=\toutcome=ACK", event.toString());
        PlannedMessage message = new PlannedMessage("m000001", 5, "k1", 3, 700, PlannedMessage.ALWAYS, 0,
                PlannedMessage.Path.SQL_LONG, 1500, 9);
        assertEquals(message, PlannedMessage.parseLine(message.toLine()));
        assertEquals(new PlannedMessage.Body("m000001", PlannedMessage.ALWAYS, 0, 9),
                PlannedMessage.parseBody(message.body()));
    }

    @Test
    void theSameSeedGivesTheSamePlan() {
        HistoryPlan a = HistoryPlan.generate(QUEUE, 42);
        HistoryPlan b = HistoryPlan.generate(QUEUE, 42);
        assertEquals(a.messages(), b.messages());
        assertEquals(a.faults(), b.faults());
        assertTrue(!a.messages().equals(HistoryPlan.generate(QUEUE, 43).messages()));
    }

    // --- building histories ---

    private CheckResult check() {
        List<Event> sorted = new ArrayList<>(events);
        sorted.sort(java.util.Comparator.comparingLong(Event::micros));
        FinalState state = new FinalState(remaining, dead, Map.of(), Set.of());
        return new HistoryChecker(History.of(sorted), state, QUEUE).check(sorted.size());
    }

    private static List<Invariant> invariants(CheckResult result) {
        return result.violations().stream().map(Violation::invariant).toList();
    }

    private void send(String token, String key, long delay, String plan, long begin, long end, String outcome) {
        event(begin, EventLog.SEND_BEGIN, "token", token, "key", key, "priority", 0, "delay", delay, "plan", plan,
                "path", "CAMEL", "producer", "main");
        event(end, EventLog.SEND_END, "token", token, "id", token.substring(1), "outcome", outcome, "producer", "main");
    }

    private void delivery(String token, int attempt, String jvm, String thread, long start, long end, String result) {
        event(start, EventLog.DELIVERY_START, "token", token, "id", token.substring(1), "attempt", attempt, "group", "",
                "jvm", jvm, "thread", thread);
        event(end, EventLog.DELIVERY_END, "token", token, "id", token.substring(1), "attempt", attempt, "group", "",
                "jvm", jvm, "thread", thread, "result", result);
    }

    private void fault(int number, FaultKind kind, String jvm, long begin, long end) {
        event(begin, EventLog.FAULT_BEGIN, "fault", number, "kind", kind, "jvm", jvm);
        event(end, EventLog.FAULT_END, "fault", number, "kind", kind, "jvm", jvm);
    }

    private void event(long millis, String type, Object... keysAndValues) {
        StringBuilder raw = new StringBuilder().append(micros(millis)).append('\t').append(type);
        for (int i = 0; i < keysAndValues.length; i += 2) {
            raw.append('\t').append(keysAndValues[i]).append('=')
                    .append(keysAndValues[i + 1] == null ? "" : keysAndValues[i + 1]);
        }
        events.add(Event.parse(raw.toString(), "test.events", events.size() + 1));
    }

    /** The run starts at 1,000 s (the first event's time stands for it): times are milliseconds after it. */
    private static long micros(long millis) {
        return 1_000_000_000L + millis * 1000;
    }
}
