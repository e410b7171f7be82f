package dev.pgnotify.camel.claim;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

import dev.pgnotify.camel.connection.Database;

/**
 * The watch below the frontier. A fresh claim passes items it cannot take — another consumer's, a retry not due yet,
 * a delayed message, one waiting for its key — and the frontier moves on over them; the sweep, run every poll interval
 * on the consumer's sweeper thread, finds them again and hands them to a claim when they fall due.
 * <ul>
 * <li>It pages through the ids the frontier passed since the last sweep, row by row in id order (each page starts
 * after the last id of the previous one, so the value of the ids and the gaps between them do not matter). An item
 * not due yet is <em>tracked</em>: looked up by id every sweep, with a timer when it falls due before the next.</li>
 * <li>Tracked items are capped; one that does not fit goes to the <em>overflow</em>, an id range that a rolling scan
 * reads again in pages once its earliest item is about to fall due. A periodic rolling scan of everything below the
 * frontier is the safety net for rows no rule foresaw.</li>
 * <li>It checks the long transactions the cursor excused (see {@link ClaimCursor}) and scans the ranges of those
 * that committed.</li>
 * <li>It tells the claims the id below which no unfinished item exists ({@link #unfinishedFrom()}), which bounds
 * their per-key and priority look-ups from below.</li>
 * </ul>
 * Invariants, kept here:
 * <ol>
 * <li><b>W</b> (watched): every live item with an id up to {@code sweptUpTo} that committed before this sweep's scan
 * of it is tracked, in the overflow range, in the consumer's hands, due, or gone — except the rows of transactions
 * in a pending range of the cursor, which are scanned once they commit.</li>
 * <li><b>R</b> (reached): the items the frontier passed are scanned within {@code ceil(rows / (PAGE_ROWS x
 * PAGES_PER_SWEEP))} sweeps, whatever their ids; a tracked item falling due is handed to a claim at the sweep (or
 * timer) after it falls due; an overflowed one within {@code ceil(overflow rows / (PAGE_ROWS x RESCAN_PAGES))} sweeps
 * after its range's earliest item falls due.</li>
 * <li><b>U</b> (unfinished): {@link #unfinishedFrom()} is at most the id of every live item visible to a statement
 * that starts after it was computed — but for items of transactions still in progress at the computation (a write
 * that overlaps the sends it would be ordered against).</li>
 * </ol>
 */
final class Sweep {

    /** Rows a page reads, at most. */
    static final int PAGE_ROWS = 10_000;
    /** Pages read per sweep through the ids the frontier passed; the rest waits for the next sweep. */
    static final int PAGES_PER_SWEEP = 20;
    /** Pages read per sweep by a rolling scan (overflow, safety net). */
    static final int RESCAN_PAGES = 5;
    /** The items looked up by id every sweep, at most. */
    static final int MAX_TRACKED = 10_000;
    /** Every this many sweeps a rolling scan reads everything below the frontier again: a safety net. */
    static final int FULL_RESCAN_EVERY = 60;

    /** How the sweep reaches the database: on the consumer's bounded connections. */
    interface Calls {
        <T> T call(String what, Database.Work<T> work) throws SQLException;
    }

    /** Asks for an item to be handed to a claim when it falls due, that many milliseconds from now. */
    interface Timer {
        void dueIn(long id, long millis);
    }

    /** A range to read again: ids in ({@code after}, {@code upTo}]. */
    private static final class Rescan {
        long after;
        final long upTo;

        Rescan(long after, long upTo) {
            this.after = after;
            this.upTo = upTo;
        }
    }

    private final CursorView cursor;
    private final Handoff handoff;
    private final Timer timer;
    private final LongSupplier clockMillis;
    private final int maxTracked;
    private final int pageRows;
    private long pollIntervalMillis;

    /** Tracked items, with when each falls due (this JVM's clock, milliseconds). */
    private final Map<Long, Long> tracked = new LinkedHashMap<>();
    private long sweptUpTo;
    private Rescan rescan;
    /** The overflow: items that did not fit, as a range, and when the first of them falls due. */
    private long overflowFrom = Long.MAX_VALUE;
    private long overflowTo = Long.MIN_VALUE;
    private long overflowDueAt = Long.MAX_VALUE;
    private int sweeps;
    private long cursorEpoch;
    /**
     * Where the next walk for the lower bound starts: no live item visible to the sweep lies below it but rows of
     * pending transactions (which lower it again once read).
     */
    private long walkFrom;
    private volatile long unfinishedFrom;

    Sweep(CursorView cursor, Handoff handoff, Timer timer) {
        this(cursor, handoff, timer, System::currentTimeMillis, MAX_TRACKED, PAGE_ROWS);
    }

    /** With a clock and bounds of one's own: tests exercise the overflow and the paging with a few rows. */
    Sweep(CursorView cursor, Handoff handoff, Timer timer, LongSupplier clockMillis, int maxTracked, int pageRows) {
        this.cursor = cursor;
        this.handoff = handoff;
        this.timer = timer;
        this.clockMillis = clockMillis;
        this.maxTracked = maxTracked;
        this.pageRows = pageRows;
    }

    /** Starts from the channel's first id again (at the consumer's start). */
    void reset(long pollIntervalMillis) {
        this.pollIntervalMillis = pollIntervalMillis;
        cursorEpoch = cursor.epoch();
        tracked.clear();
        sweptUpTo = 0;
        rescan = null;
        clearOverflow();
        sweeps = 0;
        walkFrom = 0;
        unfinishedFrom = 0;
    }

    /**
     * An id below which no unfinished item exists (see invariant U): the claims' per-key and priority look-ups start
     * there. 0 until the first sweep.
     */
    long unfinishedFrom() {
        return unfinishedFrom;
    }

    /** How many items are tracked: for health details and tests. */
    int trackedCount() {
        return tracked.size();
    }

    long sweptUpTo() {
        return sweptUpTo;
    }

    /** One sweep; returns whether it handed a due item to the claims. Runs on one thread at a time. */
    boolean run(Calls calls, WorkStore store) throws SQLException {
        long epoch = cursor.epoch();
        if (epoch != cursorEpoch) {
            // the cursor started again from the channel's first id (a restarted sequence): so does the sweep
            reset(pollIntervalMillis);
            cursorEpoch = epoch;
        }
        sweeps++;
        boolean found = resolvePending(calls, store);
        found |= readPassed(calls, store);
        found |= continueRescan(calls, store);
        Long id;
        while ((id = handoff.pollRecheck()) != null) {
            track(id, clockMillis.getAsLong());
        }
        found |= lookUpTracked(calls, store);
        measureUnfinishedFrom(calls, store);
        return found;
    }

    /**
     * Only the check of the long transactions the cursor excused (see {@link #resolvePending}): what a wake-up asks for
     * while one is pending, since its commit may be what woke the consumer. Not a sweep: it neither reads what the
     * frontier passed nor counts towards the safety net's cadence.
     */
    boolean checkPending(Calls calls, WorkStore store) throws SQLException {
        return resolvePending(calls, store);
    }

    /** The ids the frontier passed since the last sweep, a page at a time. */
    private boolean readPassed(Calls calls, WorkStore store) throws SQLException {
        // every id up to the frontier is settled before the pages below are read (invariant W)
        long frontier = cursor.frontier();
        boolean found = false;
        for (int page = 0; page < PAGES_PER_SWEEP && sweptUpTo < frontier; page++) {
            long after = sweptUpTo;
            List<long[]> rows = calls.call("sweeping below the frontier",
                    connection -> store.liveAfter(connection, after, frontier, pageRows));
            found |= handle(rows);
            sweptUpTo = rows.size() < pageRows ? frontier : rows.get(rows.size() - 1)[0];
        }
        return found;
    }

    /**
     * The pending ranges of long transactions the cursor excused: those that committed are scanned (by statements
     * that start after the commit was seen); those that ended, or hold no write lock on the table, leave their ranges.
     */
    private boolean resolvePending(Calls calls, WorkStore store) throws SQLException {
        ClaimCursor.PendingCheck check = cursor.pendingForCheck();
        if (check.isEmpty()) {
            return false;
        }
        Map<Long, TransactionCheck.State> states = calls.call("checking long transactions",
                connection -> store.transactions(connection, check.transactions()));
        Set<Long> committed = new HashSet<>();
        Set<Long> done = new HashSet<>();
        states.forEach((xid, state) -> {
            if (state != TransactionCheck.State.WRITING) {
                done.add(xid);
            }
            if (state == TransactionCheck.State.COMMITTED) {
                committed.add(xid);
            }
        });
        boolean found = false;
        for (ClaimCursor.PendingRange range : check.ranges()) {
            if (range.transactions().stream().anyMatch(committed::contains)) {
                found |= readAll(calls, store, range.after(), range.upTo());
                // its rows are visible now: the walk for the lower bound starts at or below them again
                walkFrom = Math.min(walkFrom, range.after() + 1);
            }
        }
        cursor.resolved(check, done);
        return found;
    }

    /** Reads every row of ({@code after}, {@code upTo}], a page at a time: pending ranges are scanned whole, once. */
    private boolean readAll(Calls calls, WorkStore store, long after, long upTo) throws SQLException {
        boolean found = false;
        long from = after;
        while (from < upTo) {
            long pageAfter = from;
            List<long[]> rows = calls.call("scanning the ids of a long transaction",
                    connection -> store.liveAfter(connection, pageAfter, upTo, pageRows));
            found |= handle(rows);
            if (rows.size() < pageRows) {
                break;
            }
            from = rows.get(rows.size() - 1)[0];
        }
        return found;
    }

    /** The rolling scan: the overflow when its first item is about to fall due, and periodically everything. */
    private boolean continueRescan(Calls calls, WorkStore store) throws SQLException {
        long now = clockMillis.getAsLong();
        if (rescan == null && overflowFrom <= overflowTo && overflowDueAt <= now + pollIntervalMillis) {
            rescan = new Rescan(before(overflowFrom), overflowTo);
            clearOverflow();
        } else if (rescan == null && sweeps % FULL_RESCAN_EVERY == 0) {
            // from the lowest id there may be, not from the lower bound: it is the net for rows that broke the rules
            // the bound relies on (an id drawn before its INSERT, by nextval or a pooled id allocator, say)
            rescan = new Rescan(Long.MIN_VALUE, cursor.frontier());
        }
        boolean found = false;
        for (int page = 0; page < RESCAN_PAGES && rescan != null; page++) {
            Rescan current = rescan;
            List<long[]> rows = calls.call("sweeping below the frontier again",
                    connection -> store.liveAfter(connection, current.after, current.upTo, pageRows));
            found |= handle(rows);
            if (rows.size() < pageRows) {
                rescan = null;
            } else {
                current.after = rows.get(rows.size() - 1)[0];
            }
        }
        return found;
    }

    /** Rows of (id, milliseconds until due): due ones go to the claims, the others are watched. */
    private boolean handle(List<long[]> rows) {
        boolean found = false;
        long now = clockMillis.getAsLong();
        for (long[] row : rows) {
            long id = row[0];
            long dueIn = row[1];
            if (dueIn <= 0 && !handoff.isInHand(id)) {
                handoff.addDue(id);
                found = true;
            } else {
                dueSoon(id, dueIn);
                track(id, now + Math.max(0, dueIn));
            }
        }
        return found;
    }

    private void track(long id, long dueAt) {
        if (tracked.containsKey(id) || tracked.size() < maxTracked) {
            tracked.put(id, dueAt);
        } else {
            overflowFrom = Math.min(overflowFrom, id);
            overflowTo = Math.max(overflowTo, id);
            overflowDueAt = Math.min(overflowDueAt, dueAt);
        }
    }

    /** Looks the tracked items up by id: gone ones are forgotten, due ones go to the next claim. */
    private boolean lookUpTracked(Calls calls, WorkStore store) throws SQLException {
        if (tracked.isEmpty()) {
            return false;
        }
        Long[] ids = tracked.keySet().toArray(new Long[0]);
        Map<Long, Long> live = calls.call("looking up items below the frontier",
                connection -> store.liveAmong(connection, ids));
        long now = clockMillis.getAsLong();
        boolean found = false;
        for (Iterator<Map.Entry<Long, Long>> it = tracked.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Long, Long> entry = it.next();
            Long dueIn = live.get(entry.getKey());
            if (dueIn == null) {
                it.remove();
            } else if (dueIn <= 0 && !handoff.isInHand(entry.getKey())) {
                handoff.addDue(entry.getKey());
                found = true;
            } else {
                entry.setValue(now + Math.max(0, dueIn));
                dueSoon(entry.getKey(), dueIn);
            }
        }
        return found;
    }

    /**
     * An item falling due before the next sweep (a delayed message, a retry of another consumer's, a lease running
     * out) is handed to a claim at its time, rather than up to a poll interval late.
     */
    private void dueSoon(long id, long dueInMillis) {
        if (dueInMillis > 0 && dueInMillis <= pollIntervalMillis + SWEEP_SLACK_MILLIS && !handoff.isInHand(id)) {
            timer.dueIn(id, dueInMillis);
        }
    }

    /** How far past the next sweep an item may fall due and still get a timer of its own. */
    static final long SWEEP_SLACK_MILLIS = 100;

    /**
     * Invariant U: the first live item from the last bound on, up to the settled ids (every id above them may still
     * be drawn by a transaction in progress), and below every pending range.
     */
    private void measureUnfinishedFrom(Calls calls, WorkStore store) throws SQLException {
        long settled = cursor.settled();
        long floor = cursor.pendingFloor();
        long from = walkFrom;
        Long first = from <= settled
                ? calls.call("finding the first unfinished item", connection -> store.firstLive(connection, from, settled))
                : null;
        // the next walk starts where this one found the first live item (or at the settled ids), not at the pending
        // floor: a long transaction's range would otherwise have every sweep walk the dead entries since it began
        walkFrom = Math.max(from, first != null ? first : settled);
        unfinishedFrom = Math.min(first != null ? first : settled, floor);
    }

    private void clearOverflow() {
        overflowFrom = Long.MAX_VALUE;
        overflowTo = Long.MIN_VALUE;
        overflowDueAt = Long.MAX_VALUE;
    }

    /** The id just below this one, for an exclusive lower bound. */
    private static long before(long id) {
        return id == Long.MIN_VALUE ? id : id - 1;
    }

    /** Ids tracked: for tests. */
    Set<Long> trackedIds() {
        return Set.copyOf(new ArrayList<>(tracked.keySet()));
    }
}
