package dev.pgnotify.camel.claim;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * While a consumer drains a backlog of keyed messages (its last claim came back full, with keys), its threads take
 * turns at the claim statement: one claims while the others deliver what they claimed.
 * <p>
 * Why: two claims of one consumer that run at once start from the same frontier. The later one's snapshot still shows
 * as due the rows the earlier one claimed and committed meanwhile; PostgreSQL then locks their newest version, finds it
 * no longer due and skips it, but keeps the lock to the end of the later claim (READ COMMITTED's re-check of
 * {@code FOR UPDATE}). The earlier thread's acknowledgement of those rows, sent with its next claim, waits for it:
 * measured in a drain by two threads, a quarter of a keyed claim's time and a tenth of a plain one's went to that wait,
 * and each claim locked and skipped as many rows as it claimed. In turns, a claim starts from the frontier the previous
 * one moved, after its commit: it scans only rows nobody holds. Measured on two cores, a keyed drain by two threads ran
 * 1.7× as fast in turns; plain drains ran as fast either way (0.9–1.07×, within noise), and a drain of prioritized
 * messages lost up to a fifth (its claims, both running, use both cores): so turns are for keyed claims, whose
 * per-key look-ups the re-checks repeat. A consumer that is not draining (its claims come back short: messages trickle
 * in) claims without turns, so that a thread never waits behind another's claim for a message that is already due.
 * Other consumers of the channel (other applications) are not coordinated: the claim is correct for any
 * interleaving, turns only spare it the overlap.
 * <p>
 * A turn is worth little more than the claim it spares, so a thread waits for it at most a few claims' time (never
 * more than the statement timeout). A turn held longer than that (a claim waiting for a connection, for a row another
 * application holds, or stuck on a dead connection) is taken from its holder, whose claim simply overlaps the next one
 * as it would have without turns: one slow claim never stops the consumer's other threads. A thread given up as stuck
 * ({@link StuckThreads}) gives its turn back too. A turn goes back once only, whoever gives it back.
 */
final class ClaimTurn {

    /** The least a thread waits for its turn (the time of a few short claims). */
    static final long LEAST_WAIT_MILLIS = 20;
    /** How many claims' time (their moving average) a thread waits for its turn, above the least. */
    private static final int WAIT_IN_CLAIMS = 4;

    /** One turn: who took it, and when. */
    static final class Held {
        private final Object taker;
        private final long sinceNanos;

        private Held(Object taker, long sinceNanos) {
            this.taker = taker;
            this.sinceNanos = sinceNanos;
        }

        Object taker() {
            return taker;
        }
    }

    private final Semaphore turn = new Semaphore(1, true);
    private final AtomicReference<Held> holder = new AtomicReference<>();
    private volatile boolean draining;
    /** How long a claim takes, a moving average over the consumer's claims (approximate under races: a hint). */
    private volatile long averageClaimNanos;

    /**
     * Waits for the turn while the consumer drains a backlog. Returns the turn, to give back; null when there was no
     * need, or the wait ran out with the turn still rightly held, or was interrupted (an interrupt never stops a
     * consumer thread: the claim goes ahead without its turn).
     */
    Held take(Object taker, long maxWaitMillis) {
        if (!draining) {
            return null;
        }
        long waitNanos = Math.min(TimeUnit.MILLISECONDS.toNanos(maxWaitMillis), waitNanos());
        try {
            if (!turn.tryAcquire(waitNanos, TimeUnit.NANOSECONDS) && !takeFromLateHolder(waitNanos())) {
                return null;
            }
        } catch (InterruptedException e) {
            // as every wait of a worker (see Worker): the wait is over, the loop then checks whether the consumer runs
            return null;
        }
        try {
            Held held = new Held(taker, System.nanoTime());
            holder.set(held);
            return held;
        } catch (Throwable e) {
            // an OutOfMemoryError, which a worker survives: the turn must not be lost with it
            turn.release();
            throw e;
        }
    }

    /** How long a thread waits for its turn: a few claims' time, at least the least. */
    private long waitNanos() {
        return Math.max(TimeUnit.MILLISECONDS.toNanos(LEAST_WAIT_MILLIS), WAIT_IN_CLAIMS * averageClaimNanos);
    }

    /** The turn's holder has had it longer than a thread waits for it: its turn is over. Whether the caller has it now. */
    private boolean takeFromLateHolder(long waitNanos) {
        Held late = holder.get();
        if (late == null || System.nanoTime() - late.sinceNanos < waitNanos || !holder.compareAndSet(late, null)) {
            return false;
        }
        turn.release();
        return turn.tryAcquire();
    }

    /**
     * Records how long a claim took, and whether turns pay: it came back full (the consumer drains a backlog) with
     * keyed messages.
     */
    void claimed(long tookNanos, boolean fullOfKeyed) {
        // a sample counts at most as much as a wait: one claim stuck for seconds does not make the next waits as long
        // (concurrent updates may lose one; the wait is bounded whatever the average says)
        long average = averageClaimNanos;
        averageClaimNanos = average + (Math.min(tookNanos, waitNanos()) - average) / 8;
        draining = fullOfKeyed;
    }

    /** A claim failed: whatever the consumer was doing, it is not a drain the turns can speed up until a claim says so. */
    void claimFailed() {
        draining = false;
    }

    /** Gives a turn back: once only, by its taker, on the taker's behalf when it is given up, or by nobody if taken. */
    void giveBack(Held held) {
        if (held != null && holder.compareAndSet(held, null)) {
            turn.release();
        }
    }
}
