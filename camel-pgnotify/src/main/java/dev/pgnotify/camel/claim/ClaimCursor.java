package dev.pgnotify.camel.claim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Where a consumer's fresh claims start (the <em>frontier</em>), so that their cost does not grow with the rows vacuum
 * cannot remove, and which ids are <em>settled</em>.
 * <p>
 * Why: acknowledged rows are deleted, but while any session holds an old snapshot vacuum may not remove them, nor may
 * an index scan skip their entries, so a claim that scans the channel from its start walks every row acknowledged since
 * that snapshot was taken and slows down linearly ("failure by MVCC"). A claim scans from the frontier instead.
 * <p>
 * Ids are drawn when a row is inserted but become visible when its transaction commits, so a lower id can appear after
 * higher ones were claimed: the frontier may only pass ids that are settled. Each claim reads the last id drawn (a
 * <em>reading</em>, M) and its snapshot; a table trigger gives every inserting transaction its transaction id before
 * it draws ids, so every id up to M was drawn by a transaction whose id was assigned before the reading. In the
 * snapshot of a claim started after the reading, such a transaction had ended, or was in progress: listed (xip), or
 * newer than every transaction that had ended (at or above the snapshot's xmax, which is one past the newest ended
 * transaction, not the next id to be assigned) and so below the claim's own transaction id, assigned after the reading
 * (during the claim; a topic's cut, run first in the claim's transaction, takes it before the claim's snapshot, which
 * the argument does not need). A <em>pair</em> of reading and snapshot therefore waits for the listed transactions and
 * every id from xmax to the claim's own. A claim with no transaction id of its own cannot bound the unlisted ones and
 * pairs with nothing, so a claim takes one when a reading waits to be paired ({@link #needsXid}), even if it writes
 * nothing. Once a snapshot taken after the claim ended shows none of those transactions in progress, every id up to M
 * is settled: visible now, or never.
 * <p>
 * One transaction that stays open (a forgotten psql holding an xid, a report that wrote something, a producer inside a
 * long business transaction) would hold every later pair back, since snapshots are cluster-wide. A transaction that
 * blocks the oldest pair for longer than {@value #STALL_MILLIS} ms is <em>excused</em>: pairs settle without waiting
 * for it, and each id range settled so is recorded as <em>pending</em> with the excused transactions. The sweep asks
 * the server about them ({@link #pendingForCheck}, {@link #resolved}): one that holds no write lock on the table has
 * drawn no id of the range (it would hold the lock until it ends) and is dropped from it; one that committed has its
 * range scanned once more, by a statement that starts after the commit, and then dropped. Its rows are therefore
 * found by the sweep, never skipped for good, and the other transactions' rows keep their normal path.
 * <p>
 * The invariants, kept here and tested over generated histories by {@code ClaimCursorProperties}:
 * <ol>
 * <li><b>F</b>: {@code frontier <= settled}; neither decreases (until {@link #reset}).</li>
 * <li><b>S</b>: every id up to {@code settled} was drawn by a transaction that had ended in a snapshot given to this
 * cursor, or lies in a pending range that names its transaction.</li>
 * <li><b>P</b>: a transaction leaves a pending range only through {@link #resolved}: seen ended, or seen holding no
 * write lock on the table, by a check that started after the range was recorded.</li>
 * </ol>
 * Ids are compared as numbers only, never added to or subtracted from (but for {@code after + 1} on a range's lower
 * bound, which lies below {@code settled}): any value up to {@code Long.MAX_VALUE} works.
 * <p>
 * Longer than a class here should be: a third of it is the comments that state and argue its invariants.
 */
final class ClaimCursor implements CursorView {

    static final long STALL_MILLIS = 500;
    private static final int MAX_READINGS = 64;
    private static final int MAX_PAIRS = 256;
    private static final int MAX_EXCUSED = 1024;
    private static final int MAX_PENDING = 256;

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
     * Every id up to {@code lastId} is settled once none of these transactions is in progress: those listed in the
     * snapshot of a claim that started after the reading, and those with an id from the snapshot's xmax up to the
     * claim's own transaction id ({@code claimXid}, assigned after the reading): in progress but newer than every
     * ended transaction, they are in no list.
     */
    private record Pair(long lastId, long[] inProgress, long xmax, long claimXid, long createdNanos) {

        boolean waitsFor(long xid) {
            return xmax <= xid && xid < claimXid || Arrays.binarySearch(inProgress, xid) >= 0;
        }

        /** The transactions this pair still waits for in the snapshot; null when the snapshot is too old to tell. */
        Set<Long> blockersIn(Snapshot snapshot) {
            if (claimXid >= snapshot.xmax()) {
                // the snapshot was taken before this pair's claim ended: it cannot settle anything of it
                return null;
            }
            Set<Long> blockers = new LinkedHashSet<>();
            for (long xid : snapshot.inProgress()) {
                if (waitsFor(xid)) {
                    blockers.add(xid);
                }
            }
            return blockers;
        }
    }

    /**
     * Ids in ({@code after}, {@code upTo}] that may have been drawn by these transactions, excused while still in
     * progress: the sweep scans the range once one of them commits, and forgets it once none is left.
     */
    static final class PendingRange {

        private final long after;
        private long upTo;
        private final TreeSet<Long> transactions;
        private long seq;

        PendingRange(long after, long upTo, Collection<Long> transactions, long seq) {
            this.after = after;
            this.upTo = upTo;
            this.transactions = new TreeSet<>(transactions);
            this.seq = seq;
        }

        long after() {
            return after;
        }

        long upTo() {
            return upTo;
        }

        Set<Long> transactions() {
            return Set.copyOf(transactions);
        }

        @Override
        public String toString() {
            return "(" + after + ", " + upTo + "] of " + transactions;
        }
    }

    /** What a claim reports back. */
    /**
     * What a claim reports back. {@code settledAtStart}: the settled ids when it began; its snapshot sees every row of
     * them (they were settled in an earlier snapshot), so the frontier may pass what it examined up to there.
     */
    record Outcome(long startedAt, long frontierUsed, long settledAtStart, Snapshot snapshot, Long claimXid,
                   Long lastId, boolean examinedAll, long lastFreshClaimed) {
    }

    /** The pending ranges a sweep is to check, as they stood when it started; see {@link #resolved}. */
    record PendingCheck(List<PendingRange> ranges, long sealedSeq, long[] transactions) {

        boolean isEmpty() {
            return ranges.isEmpty();
        }
    }

    private final AtomicLong clock = new AtomicLong();
    private final LongSupplier nanoTime;
    private final Deque<Reading> readings = new ArrayDeque<>();
    private final List<Pair> pairs = new ArrayList<>();
    private final Set<Long> excused = new LinkedHashSet<>();
    private final List<PendingRange> pending = new ArrayList<>();
    private long rangeSeq;
    private long sealedSeq;
    private long frontier;
    private long settled;
    /** Claims that started before the last reset (their readings may be of a sequence since restarted) report nothing. */
    private long resetStamp;
    /** Counts resets, so that the sweep starts again too. */
    private long epoch;
    /** The ids' order cannot be trusted (a sequence cache above 1): fresh claims scan from the channel's start. */
    private boolean distrusted;

    ClaimCursor() {
        this(System::nanoTime);
    }

    /** With a clock of one's own: tests run histories faster than time passes. */
    ClaimCursor(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Stamps a claim's start; pass it back with its outcome. */
    long claimStarting() {
        return clock.incrementAndGet();
    }

    /**
     * Whether the claim starting now must take a transaction id of its own, even if it writes nothing: a reading above
     * the settled ids waits to be paired, and only a claim with its own transaction id can pair (see the class
     * comment). Without it an idle consumer's frontier would stay behind the last message on a quiet server, and
     * every claim would walk the entries between.
     */
    synchronized boolean needsXid() {
        // a reading up to what a pair already covers adds nothing: that pair settles its ids too. (Readings still rise
        // while other channels or groups of the table send: then an idle claim takes an id each poll, as their own
        // claims do.)
        long covered = settled;
        for (Pair pair : pairs) {
            covered = Math.max(covered, pair.lastId());
        }
        for (Reading reading : readings) {
            if (reading.lastId() > covered) {
                return true;
            }
        }
        return false;
    }

    /** Fresh claims scan ids above this. */
    @Override
    public synchronized long frontier() {
        return frontier;
    }

    /** Every id up to this is settled (see the class comment). */
    @Override
    public synchronized long settled() {
        return settled;
    }

    /**
     * Starts again from the channel's first message: at the consumer's start, and when the table was emptied or its
     * ids restarted (TRUNCATE ... RESTART IDENTITY, ALTER SEQUENCE ... RESTART): ids then come again from below the
     * frontier.
     */
    synchronized void reset() {
        resetStamp = clock.get();
        epoch++;
        frontier = 0;
        settled = 0;
        readings.clear();
        pairs.clear();
        excused.clear();
        pending.clear();
        rangeSeq = 0;
        sealedSeq = 0;
    }

    /** How many times the cursor started again: see {@link #reset}. */
    @Override
    public synchronized long epoch() {
        return epoch;
    }

    /**
     * Whether ids are drawn in order: not with a sequence that caches more than one id per session (each session then
     * draws from a block of its own, and the last id drawn says nothing of the ids still to come below it). Until they
     * are again, the frontier stays at the channel's start: claims are correct, and as slow under an old snapshot as a
     * plain scan.
     */
    synchronized void idsInOrder(boolean inOrder) {
        if (!inOrder && !distrusted) {
            reset();
        }
        distrusted = !inOrder;
    }

    synchronized void claimed(Outcome outcome) {
        if (outcome.startedAt() <= resetStamp || distrusted) {
            return;
        }
        if (outcome.lastId() != null && outcome.lastId() < outcome.frontierUsed()) {
            // the frontier came from readings taken before this claim began; the sequence is monotonic, so a lower
            // reading means it was restarted (TRUNCATE ... RESTART IDENTITY, say)
            reset();
            return;
        }
        Snapshot snapshot = outcome.snapshot();
        if (outcome.claimXid() != null) {
            // only a claim with its own transaction id pairs: the drawers in progress that its snapshot does not list
            // (newer than every ended transaction) lie below that id. A claim without one leaves the readings to the
            // next claim, which takes an id when asked to (needsXid), so that an idle consumer's frontier catches up
            pairWithReadingsBefore(outcome.startedAt(), snapshot, outcome.claimXid());
        }
        // an excused transaction that this snapshot shows ended blocks nothing any more
        excused.removeIf(xid -> !snapshot.isInProgress(xid));
        settle(snapshot);
        if (excuseLongBlockers(snapshot)) {
            settle(snapshot);
        }

        long reachable = outcome.examinedAll() ? Long.MAX_VALUE
                : Math.max(outcome.frontierUsed(), outcome.lastFreshClaimed());
        // not past what this claim's snapshot could see: rows settled since it began may have committed after it
        frontier = Math.max(frontier, Math.min(reachable, Math.min(settled, outcome.settledAtStart())));

        if (outcome.lastId() != null) {
            readings.addLast(new Reading(outcome.lastId(), clock.incrementAndGet()));
            if (readings.size() > MAX_READINGS) {
                // fewer readings only settle later, never wrongly
                readings.removeFirst();
            }
        }
    }

    private void pairWithReadingsBefore(long claimStartedAt, Snapshot snapshot, long claimXid) {
        long lastId = Long.MIN_VALUE;
        for (Iterator<Reading> it = readings.iterator(); it.hasNext();) {
            Reading reading = it.next();
            if (reading.completedAt() < claimStartedAt) {
                lastId = Math.max(lastId, reading.lastId());
                it.remove();
            }
        }
        if (lastId == Long.MIN_VALUE || lastId <= settled) {
            return;
        }
        Pair pair = new Pair(lastId, snapshot.inProgress(), snapshot.xmax(), claimXid, nanoTime.getAsLong());
        if (pairs.size() < MAX_PAIRS) {
            pairs.add(pair);
        } else {
            // a later pair waits for whatever an earlier one still waits for: replacing the newest with it only
            // settles that one's ids later
            Pair replaced = pairs.set(pairs.size() - 1, pair);
            pairs.set(pairs.size() - 1, new Pair(pair.lastId(), pair.inProgress(), pair.xmax(), pair.claimXid(),
                    replaced.createdNanos()));
        }
    }

    /**
     * Settles the pairs this snapshot allows, oldest first: a pair settles once each transaction it waits for has
     * ended or is excused; the ids it settles while an excused one is still in progress become a pending range.
     */
    private void settle(Snapshot snapshot) {
        for (Iterator<Pair> it = pairs.iterator(); it.hasNext();) {
            Pair pair = it.next();
            if (pair.lastId() <= settled) {
                it.remove();
                continue;
            }
            Set<Long> blockers = pair.blockersIn(snapshot);
            if (blockers == null) {
                // too old a snapshot for this pair, and for every later one
                return;
            }
            if (!excused.containsAll(blockers)) {
                // a later pair waits for this pair's blockers too, while they run
                return;
            }
            if (!blockers.isEmpty()) {
                recordPending(settled, pair.lastId(), blockers);
            }
            settled = pair.lastId();
            it.remove();
        }
    }

    /** Excuses the transactions that have blocked the oldest pair for too long; returns whether it excused any. */
    private boolean excuseLongBlockers(Snapshot snapshot) {
        if (pairs.isEmpty()) {
            return false;
        }
        Pair oldest = pairs.get(0);
        if (nanoTime.getAsLong() - oldest.createdNanos() < TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS)) {
            return false;
        }
        Set<Long> blockers = oldest.blockersIn(snapshot);
        if (blockers == null || excused.containsAll(blockers)) {
            return false;
        }
        boolean any = false;
        for (Long xid : blockers) {
            if (excused.size() >= MAX_EXCUSED) {
                // that many long transactions at once: the rest are waited for
                break;
            }
            any |= excused.add(xid);
        }
        return any;
    }

    private void recordPending(long after, long upTo, Set<Long> transactions) {
        rangeSeq++;
        PendingRange last = pending.isEmpty() ? null : pending.get(pending.size() - 1);
        if (last != null && last.seq > sealedSeq && last.upTo == after && last.transactions.equals(transactions)) {
            // a range no check has seen yet grows, rather than a new one per claim
            last.upTo = upTo;
            last.seq = rangeSeq;
            return;
        }
        if (pending.size() >= MAX_PENDING && last != null) {
            // merging the newest two only keeps ids pending longer: they are scanned once all of them ended
            pending.remove(pending.size() - 1);
            Set<Long> union = new LinkedHashSet<>(last.transactions);
            union.addAll(transactions);
            pending.add(new PendingRange(last.after, upTo, union, rangeSeq));
            return;
        }
        pending.add(new PendingRange(after, upTo, transactions, rangeSeq));
    }

    /**
     * The pending ranges for a sweep to check. Sealed: a range recorded from now on is kept apart from these, since the
     * check's answer says nothing of ids drawn after it.
     */
    @Override
    public synchronized PendingCheck pendingForCheck() {
        sealedSeq = rangeSeq;
        List<PendingRange> ranges = new ArrayList<>();
        Set<Long> transactions = new TreeSet<>();
        for (PendingRange range : pending) {
            ranges.add(new PendingRange(range.after, range.upTo, range.transactions, range.seq));
            transactions.addAll(range.transactions);
        }
        return new PendingCheck(ranges, sealedSeq, transactions.stream().mapToLong(Long::longValue).toArray());
    }

    /**
     * What a check that started after {@code check} was sealed found: these transactions have ended, or hold no write
     * lock on the table; for those that committed, the caller has scanned the ranges naming them since. They leave
     * the ranges recorded up to the check; a range left with none is forgotten.
     */
    @Override
    public synchronized void resolved(PendingCheck check, Set<Long> done) {
        for (Iterator<PendingRange> it = pending.iterator(); it.hasNext();) {
            PendingRange range = it.next();
            if (range.seq <= check.sealedSeq()) {
                range.transactions.removeAll(done);
                if (range.transactions.isEmpty()) {
                    it.remove();
                }
            }
        }
    }

    /** The lowest id a pending range holds, or {@code Long.MAX_VALUE} when there is none. */
    @Override
    public synchronized long pendingFloor() {
        long floor = Long.MAX_VALUE;
        for (PendingRange range : pending) {
            floor = Math.min(floor, range.after + 1);
        }
        return floor;
    }

    /** The pending ranges, as copies, without sealing them: for tests. */
    synchronized List<PendingRange> pendingRanges() {
        List<PendingRange> ranges = new ArrayList<>();
        for (PendingRange range : pending) {
            ranges.add(new PendingRange(range.after, range.upTo, range.transactions, range.seq));
        }
        return ranges;
    }

    /** How many pending ranges there are: for health details and tests. */
    synchronized int pendingCount() {
        return pending.size();
    }

    /** The excused transactions: for tests. */
    synchronized Set<Long> excused() {
        return Set.copyOf(excused);
    }
}
