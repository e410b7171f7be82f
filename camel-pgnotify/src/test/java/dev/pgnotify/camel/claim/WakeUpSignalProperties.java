package dev.pgnotify.camel.claim;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The invariants of a shared claim's bookkeeping in {@link WakeUpSignal} (docs/claim-engine.md, rule "Sharing"), over
 * generated histories of two to four threads running at once, as a consumer's threads do:
 * <ul>
 * <li>every item handed off is taken exactly once, by a thread that delivers it (its part whole, in claim order) or by
 * a stop that hands it back to the table: none is lost in the signal, none delivered twice;</li>
 * <li>every acknowledgement left is taken exactly once, by a claim that sends it;</li>
 * <li>exactly one thread learns it left the first acknowledgement since the last claim took them: the one that claims
 * for them if no claim comes, so left acknowledgements always have a thread answering for them;</li>
 * <li>an idle thread is woken by a part handed off, not by its poll: a part waits for no timeout.</li>
 * </ul>
 * The Worker's use of these (which thread holds what, stop and stuck threads) is checked against a real PostgreSQL by
 * the history checker (HistoryCheckerIT), QueueClaimSharingIT and ClaimSharingStuckThreadIT.
 */
class WakeUpSignalProperties {

    enum Kind {
        /** A claim: takes the acknowledgements left (it sends them), then hands off parts of what it claimed. */
        CLAIM,
        /** Takes a part handed off, delivers it and leaves each item's acknowledgement. */
        TAKE,
        /** Waits a millisecond, as an idle thread does, and takes a part if that is what woke it. */
        AWAIT,
        /** A stop or pause: hands back every part not taken. */
        STOP,
        /** A notification. */
        WAKE
    }

    record Action(Kind kind, int parts, int partSize) {
    }

    /** What one thread saw. */
    private static final class Seen {
        final List<List<WorkStore.Item>> handedOff = new ArrayList<>();
        final List<List<WorkStore.Item>> partsTaken = new ArrayList<>();
        final List<WorkStore.Item> handedBack = new ArrayList<>();
        final List<WorkStore.Item> acknowledgementsLeft = new ArrayList<>();
        final List<WorkStore.Item> acknowledgementsSent = new ArrayList<>();
        int firstsLeft;
        int claimsSending;
    }

    @Property(tries = 300)
    void everyItemAndAcknowledgementEndsInExactlyOnePlace(@ForAll("histories") List<List<Action>> threads)
            throws Exception {
        WakeUpSignal signal = new WakeUpSignal(threads.size());
        AtomicLong ids = new AtomicLong();
        List<Seen> seen = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads.size());
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> running = new ArrayList<>();
            for (List<Action> actions : threads) {
                Seen mine = new Seen();
                seen.add(mine);
                running.add(pool.submit(() -> {
                    start.await();
                    for (Action action : actions) {
                        run(action, signal, ids, mine);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> thread : running) {
                thread.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        // the consumer's last stop: what is left is handed back and sent
        Seen last = new Seen();
        last.handedBack.addAll(signal.takeAllHandedOff());
        List<WorkStore.Item> lastSent = signal.takeLeftAcknowledgements();
        last.acknowledgementsSent.addAll(lastSent);
        last.claimsSending += lastSent.isEmpty() ? 0 : 1;
        seen.add(last);

        List<List<WorkStore.Item>> handedOff = flatten(seen, s -> s.handedOff);
        List<List<WorkStore.Item>> partsTaken = flatten(seen, s -> s.partsTaken);
        List<WorkStore.Item> everyItem = handedOff.stream().flatMap(List::stream).toList();
        List<WorkStore.Item> taken = new ArrayList<>(partsTaken.stream().flatMap(List::stream).toList());
        seen.forEach(s -> taken.addAll(s.handedBack));
        assertSameOnce(everyItem, taken, "items handed off against items delivered or handed back");
        // a part is delivered whole and in its order by one thread
        Set<List<WorkStore.Item>> parts = new HashSet<>(handedOff);
        partsTaken.forEach(part -> assertTrue(parts.contains(part), "a part taken is a part handed off: " + part));

        List<WorkStore.Item> left = seen.stream().flatMap(s -> s.acknowledgementsLeft.stream()).toList();
        List<WorkStore.Item> sent = seen.stream().flatMap(s -> s.acknowledgementsSent.stream()).toList();
        assertSameOnce(left, sent, "acknowledgements left against acknowledgements sent");
        assertEquals(seen.stream().mapToInt(s -> s.claimsSending).sum(), seen.stream().mapToInt(s -> s.firstsLeft).sum(),
                "one thread answers for each round of acknowledgements left, the claim that sent them ends the round");
        assertEquals(0, signal.idleThreads(), "no thread waits any more");
    }

    @Property(tries = 30)
    void idleThreadsTakeEveryPartAtOnce(@ForAll @IntRange(min = 1, max = 4) int idleThreads,
            @ForAll @IntRange(min = 1, max = 6) int parts) throws Exception {
        WakeUpSignal signal = new WakeUpSignal(idleThreads + 1);
        AtomicInteger taken = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(idleThreads);
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int t = 0; t < idleThreads; t++) {
                running.add(pool.submit(() -> {
                    // an idle thread: its poll is far longer than any wait this test allows
                    while (signal.await(TimeUnit.MINUTES.toMillis(1)) == WakeUpSignal.Woken.HANDED_OFF) {
                        List<WorkStore.Item> part = signal.takeHandedOff();
                        if (part != null) {
                            taken.addAndGet(part.size());
                        }
                    }
                    return null;
                }));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> signal.idleThreads() == idleThreads);
            AtomicLong ids = new AtomicLong();
            List<List<WorkStore.Item>> handed = new ArrayList<>();
            for (int p = 0; p < parts; p++) {
                handed.add(List.of(item(ids), item(ids)));
            }
            signal.handOff(handed);
            await().atMost(Duration.ofSeconds(10)).until(() -> taken.get() == parts * 2);
            await().atMost(Duration.ofSeconds(10)).until(() -> signal.idleThreads() == idleThreads);
            // the consumer stops: every thread is woken and leaves
            signal.wakeAll();
            for (Future<?> thread : running) {
                thread.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void run(Action action, WakeUpSignal signal, AtomicLong ids, Seen mine)
            throws InterruptedException {
        switch (action.kind()) {
            case CLAIM -> {
                List<WorkStore.Item> sent = signal.takeLeftAcknowledgements();
                mine.acknowledgementsSent.addAll(sent);
                mine.claimsSending += sent.isEmpty() ? 0 : 1;
                List<List<WorkStore.Item>> parts = new ArrayList<>();
                for (int p = 0; p < action.parts(); p++) {
                    List<WorkStore.Item> part = new ArrayList<>();
                    for (int i = 0; i < action.partSize(); i++) {
                        part.add(item(ids));
                    }
                    parts.add(List.copyOf(part));
                }
                mine.handedOff.addAll(parts);
                if (!parts.isEmpty()) {
                    signal.handOff(parts);
                }
            }
            case TAKE -> deliver(signal.takeHandedOff(), signal, mine);
            case AWAIT -> {
                if (signal.await(1) == WakeUpSignal.Woken.HANDED_OFF) {
                    deliver(signal.takeHandedOff(), signal, mine);
                }
            }
            case STOP -> mine.handedBack.addAll(signal.takeAllHandedOff());
            case WAKE -> signal.wakeOne();
        }
    }

    private static void deliver(List<WorkStore.Item> part, WakeUpSignal signal, Seen mine) {
        if (part == null) {
            return;
        }
        mine.partsTaken.add(part);
        for (WorkStore.Item item : part) {
            mine.acknowledgementsLeft.add(item);
            if (signal.acknowledgeLater(item)) {
                mine.firstsLeft++;
            }
        }
    }

    private static WorkStore.Item item(AtomicLong ids) {
        return new WorkStore.Item(ids.incrementAndGet(), 1, 0, List.of(), 0);
    }

    private static List<List<WorkStore.Item>> flatten(List<Seen> seen,
            java.util.function.Function<Seen, List<List<WorkStore.Item>>> what) {
        List<List<WorkStore.Item>> all = new ArrayList<>();
        seen.forEach(s -> all.addAll(what.apply(s)));
        return all;
    }

    /** Both hold the same items, each exactly once. */
    private static void assertSameOnce(List<WorkStore.Item> expected, List<WorkStore.Item> actual, String what) {
        Set<Long> expectedIds = new HashSet<>();
        expected.forEach(item -> assertTrue(expectedIds.add(item.id()), what + ": generated twice " + item.id()));
        List<Long> actualIds = new ArrayList<>(actual.stream().map(WorkStore.Item::id).toList());
        Set<Long> once = new HashSet<>();
        actualIds.forEach(id -> assertTrue(once.add(id), what + ": " + id + " twice"));
        List<Long> missing = new ArrayList<>(expectedIds);
        missing.removeAll(once);
        Collections.sort(missing);
        assertTrue(missing.isEmpty(), what + ": lost " + missing);
        assertEquals(expectedIds, once, what);
    }

    @Provide
    Arbitrary<List<List<Action>>> histories() {
        Arbitrary<Action> action = Combinators.combine(
                Arbitraries.of(Kind.class),
                Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(1, 3))
                .as(Action::new);
        return action.list().ofMinSize(1).ofMaxSize(40).list().ofMinSize(2).ofMaxSize(4);
    }
}
