package dev.pgnotify.camel.support;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where a consumer's claims start, so that their cost does not grow with the rows vacuum cannot remove.
 * <p>
 * Why: acknowledged messages are deleted, but while any session holds an old snapshot (an analytics query, a
 * forgotten psql) vacuum may not remove them, nor may an index scan skip their entries, so a claim that scans the
 * channel from its start walks every message acknowledged since that snapshot was taken, and slows down linearly
 * (brandur's "failure by MVCC"). A claim here scans from a <em>frontier</em> instead: the highest id below which
 * every message has been claimed or is known to be in someone's hands.
 * <p>
 * The frontier may only pass ids that are <em>settled</em>: ids are drawn when a row is inserted but become visible
 * when its transaction commits, so a row with a lower id can appear after higher ones were claimed. Each claim reads
 * the last id drawn from the table's sequence (M) and returns its snapshot; a table trigger gives every inserting
 * transaction its transaction id before it draws ids, so every row with an id up to M belongs to a transaction that
 * had committed before the next writing claim's snapshot, or was in progress in it (its xip list, or between its
 * xmax and that claim's own transaction id). Once a later snapshot shows none of those transactions in progress,
 * every id up to M is settled: visible now, or never. The frontier follows the claims up to the settled ids.
 * <p>
 * What a claim skips below the frontier — messages leased by another consumer, a retry that is not due yet — the
 * sweep ({@link QueueConsumer}) keeps an eye on with point look-ups. If ids stay unsettled for longer than
 * {@value #STALL_MILLIS} ms (a long-running transaction that inserts into the queue), the frontier moves on anyway
 * and the sweep rescans the unsettled range until it settles, so that one long transaction cannot make every claim
 * slower.
 */
final class ClaimCursor {

    static final long STALL_MILLIS = 500;
    private static final int MAX_READINGS = 64;
    private static final int MAX_PAIRS = 256;

    /** A snapshot as pg_current_snapshot() gives it: xmin:xmax:xip,... (64-bit transaction ids). */
    record Snapshot(long xmin, long xmax, long[] inProgress) {

        static Snapshot parse(String text) {
            String[] parts = text.split(":", 3);
            long[] xip = parts.length < 3 || parts[2].isEmpty()
                    ? new long[0] : Arrays.stream(parts[2].split(",")).mapToLong(Long::parseLong).sorted().toArray();
            return new Snapshot(Long.parseLong(parts[0]), Long.parseLong(parts[1]), xip);
        }

        boolean isInProgress(long xid) {
            return xid >= xmax || Arrays.binarySearch(inProgress, xid) >= 0;
        }
    }

    /** A last id drawn (M), read during a claim that completed at {@code completedAt} (a tick of the clock). */
    private record Reading(long lastId, long completedAt) {
    }

    /**
     * Every id up to {@code lastId} is settled once none of these transactions is in progress: those in progress in
     * the snapshot of a writing claim that started after the reading, and those started after that snapshot but
     * before the claim's own transaction id was assigned.
     */
    private record Pair(long lastId, long[] inProgress, long xmax, long claimXid, long createdNanos) {

        boolean waitsFor(long xid) {
            return xmax <= xid && xid < claimXid || Arrays.binarySearch(inProgress, xid) >= 0;
        }

        boolean isSettledIn(Snapshot snapshot) {
            if (claimXid >= snapshot.xmax()) {
                return false;
            }
            for (long xid : snapshot.inProgress()) {
                if (waitsFor(xid)) {
                    return false;
                }
            }
            return true;
        }
    }

    /** What a claim reports back. */
    record Outcome(long startedAt, long frontierUsed, Snapshot snapshot, Long claimXid, Long lastId,
                   boolean examinedAll, long lastFreshClaimed) {
    }

    private final AtomicLong clock = new AtomicLong();
    private final Deque<Reading> readings = new ArrayDeque<>();
    private final List<Pair> pairs = new ArrayList<>();
    private long frontier;
    private long settled;

    /** Stamps a claim's start; pass it back with its outcome. */
    long claimStarting() {
        return clock.incrementAndGet();
    }

    /** Fresh claims scan ids above this. */
    synchronized long frontier() {
        return frontier;
    }

    /** Every id up to this is settled. */
    synchronized long settled() {
        return settled;
    }

    /** Starts again from the channel's first message (after the consumer restarted, say). */
    synchronized void reset() {
        frontier = 0;
        settled = 0;
        readings.clear();
        pairs.clear();
    }

    synchronized void claimed(Outcome outcome) {
        Snapshot snapshot = outcome.snapshot();
        if (outcome.claimXid() != null) {
            pairWithReadingsBefore(outcome.startedAt(), snapshot, outcome.claimXid());
        }
        settle(snapshot);

        long reachable = outcome.examinedAll() ? Long.MAX_VALUE
                : Math.max(outcome.frontierUsed(), outcome.lastFreshClaimed());
        frontier = Math.max(frontier, Math.min(reachable, settled));
        if (reachable > frontier && outcome.lastId() != null && !pairs.isEmpty()
                && System.nanoTime() - pairs.get(0).createdNanos() > TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS)) {
            // a long transaction keeps ids unsettled: move on, and leave the unsettled range to the sweep
            frontier = Math.max(frontier, Math.min(reachable, outcome.lastId()));
        }

        if (outcome.lastId() != null) {
            readings.addLast(new Reading(outcome.lastId(), clock.incrementAndGet()));
            if (readings.size() > MAX_READINGS) {
                readings.removeFirst();
            }
        }
    }

    private void pairWithReadingsBefore(long claimStartedAt, Snapshot snapshot, long claimXid) {
        long lastId = -1;
        for (Iterator<Reading> it = readings.iterator(); it.hasNext();) {
            Reading reading = it.next();
            if (reading.completedAt() < claimStartedAt) {
                lastId = Math.max(lastId, reading.lastId());
                it.remove();
            }
        }
        if (lastId > settled && pairs.size() < MAX_PAIRS) {
            pairs.add(new Pair(lastId, snapshot.inProgress(), snapshot.xmax(), claimXid, System.nanoTime()));
        }
    }

    private void settle(Snapshot snapshot) {
        for (Iterator<Pair> it = pairs.iterator(); it.hasNext();) {
            Pair pair = it.next();
            if (pair.lastId() <= settled) {
                it.remove();
            } else if (pair.isSettledIn(snapshot)) {
                // a later reading settling settles every earlier one
                settled = Math.max(settled, pair.lastId());
                it.remove();
            }
        }
    }
}
