package dev.pgnotify.camel.claim;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cursor's invariants (see {@link ClaimCursor}), checked after every step of generated histories: writers that
 * draw ids (with gaps) and commit or abort, transactions that hold an xid and never write (an idle session), claims of
 * up to three threads whose statements interleave with everything else (some of them writers too, as a topic's cut
 * is, which takes the claim's transaction id and draws before the claim's snapshot; the others take one after it when
 * they write, or when the cursor asks them to), with PostgreSQL's snapshots ({@link ClusterModel}), time passing
 * beyond the stall bound, and the sweep's checks of excused transactions, begun and answered at
 * different moments. Ids start anywhere from 1 to near 2^63; transaction ids anywhere up to 2^62.
 */
class ClaimCursorProperties {

    enum Kind {
        BEGIN_WRITER,
        BEGIN_IDLE,
        DRAW,
        COMMIT,
        ABORT,
        CLAIM_START,
        CLAIM_EXECUTE,
        CLAIM_FINISH,
        TIME,
        CHECK_BEGIN,
        CHECK_END
    }

    record Step(Kind kind, int pick, int amount) {
    }

    /** A claim of one thread, between its start and its completion. */
    private static final class Claim {
        final long stamp;
        final long frontierUsed;
        final long settledAtStart;
        final ClaimCursor.Snapshot snapshot;
        /** Asked to take a transaction id of its own (ClaimCursor.needsXid), as the claim's SQL then does. */
        final boolean needsXid;
        ClusterModel.Txn own;
        Long lastId;
        boolean executed;

        Claim(long stamp, long frontierUsed, long settledAtStart, ClaimCursor.Snapshot snapshot, boolean needsXid) {
            this.stamp = stamp;
            this.needsXid = needsXid;
            this.frontierUsed = frontierUsed;
            this.settledAtStart = settledAtStart;
            this.snapshot = snapshot;
        }
    }

    /** A history replayed on the model and the cursor at once. */
    private static final class Run {
        final AtomicLong nanos = new AtomicLong();
        final ClaimCursor cursor = new ClaimCursor(nanos::get);
        final ClusterModel cluster;
        final List<Claim> claims = new ArrayList<>();
        ClaimCursor.PendingCheck check;
        long lastFrontier;
        long lastSettled;
        /**
         * Ids settled while their transaction was in progress: the sweep owes them a scan once it commits, by a check
         * that saw the commit and whose ranges cover them.
         */
        final Set<Long> owedScan = new HashSet<>();

        Run(long firstXid, long firstId) {
            cluster = new ClusterModel(firstXid, firstId);
        }

        void apply(Step step) {
            List<ClusterModel.Txn> active = cluster.active().stream().filter(t -> !isClaims(t)).toList();
            switch (step.kind()) {
                case BEGIN_WRITER -> {
                    if (active.size() < 8) {
                        cluster.begin(true);
                    }
                }
                case BEGIN_IDLE -> {
                    if (active.size() < 8) {
                        cluster.begin(false);
                    }
                }
                case DRAW -> {
                    List<ClusterModel.Txn> writers = active.stream().filter(t -> t.writer).toList();
                    if (!writers.isEmpty()) {
                        cluster.draw(writers.get(step.pick() % writers.size()), step.amount(), step.pick() % 3);
                    }
                }
                case COMMIT, ABORT -> {
                    if (!active.isEmpty()) {
                        cluster.end(active.get(step.pick() % active.size()), step.kind() == Kind.COMMIT);
                    }
                }
                case CLAIM_START -> {
                    if (claims.size() < 3) {
                        long stamp = cursor.claimStarting();
                        long frontier = cursor.frontier();
                        long settled = cursor.settled();
                        boolean needsXid = cursor.needsXid();
                        if (step.pick() % 7 == 0) {
                            // a topic's cut, run first in the claim's transaction: it takes the claim's transaction id
                            // and draws ids before the claim's snapshot, which leaves that id out of its list
                            ClusterModel.Txn own = cluster.begin(true);
                            cluster.draw(own, step.amount(), 0);
                            Claim claim = new Claim(stamp, frontier, settled, cluster.snapshotOf(own), needsXid);
                            claim.own = own;
                            claims.add(claim);
                        } else {
                            claims.add(new Claim(stamp, frontier, settled, cluster.snapshot(), needsXid));
                        }
                    }
                }
                case CLAIM_EXECUTE -> {
                    List<Claim> started = claims.stream().filter(c -> !c.executed).toList();
                    if (!started.isEmpty()) {
                        Claim claim = started.get(step.pick() % started.size());
                        if (claim.own != null) {
                            // it cut first: its transaction id is taken
                        } else if (step.pick() % 4 != 0) {
                            // it claimed or acknowledged something: it has a transaction id
                            claim.own = cluster.begin(step.pick() % 5 == 0);
                            if (claim.own.writer) {
                                // a topic's cut inserts items in the claim's own transaction
                                cluster.draw(claim.own, step.amount(), 0);
                            }
                        } else if (claim.needsXid) {
                            // it claimed nothing, but was asked to take a transaction id (after its snapshot)
                            claim.own = cluster.begin(false);
                        }
                        claim.lastId = cluster.lastId();
                        claim.executed = true;
                    }
                }
                case CLAIM_FINISH -> {
                    List<Claim> executed = claims.stream().filter(c -> c.executed).toList();
                    if (!executed.isEmpty()) {
                        finish(executed.get(step.pick() % executed.size()), step.pick() % 2 == 0, step.amount());
                    }
                }
                case TIME -> nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(step.amount() * 150L));
                case CHECK_BEGIN -> check = cursor.pendingForCheck();
                case CHECK_END -> {
                    if (check != null) {
                        Set<Long> done = new HashSet<>();
                        for (long xid : check.transactions()) {
                            if (cluster.check(xid) != TransactionCheck.State.WRITING) {
                                done.add(xid);
                            }
                        }
                        // the sweep scans the ranges of the check that name a committed transaction
                        for (long xid : check.transactions()) {
                            TransactionCheck.State state = cluster.check(xid);
                            ClusterModel.Txn owner = cluster.transaction(xid);
                            if (owner == null) {
                                continue;
                            }
                            if (state == TransactionCheck.State.ABORTED) {
                                owedScan.removeAll(owner.ids);
                            } else if (state == TransactionCheck.State.COMMITTED) {
                                for (ClaimCursor.PendingRange range : check.ranges()) {
                                    if (range.transactions().contains(xid)) {
                                        owedScan.removeIf(id -> range.after() < id && id <= range.upTo()
                                                                && owner.ids.contains(id));
                                    }
                                }
                            }
                        }
                        cursor.resolved(check, done);
                        check = null;
                    }
                }
            }
        }

        /** A history replayed, and the claims it left open completed (each having seen everything). */
        static Run replayed(List<Step> history, long firstXid, long firstId) {
            Run run = new Run(firstXid, firstId);
            for (Step step : history) {
                run.apply(step);
            }
            for (Claim claim : List.copyOf(run.claims)) {
                if (!claim.executed) {
                    claim.lastId = run.cluster.lastId();
                    claim.executed = true;
                }
                run.finish(claim, true, 0);
            }
            return run;
        }

        /**
         * Past the stall bound, one claim (not a cut; {@code executePick} says whether it writes, as in CLAIM_EXECUTE)
         * and one check by the sweep, the invariants checked after each.
         */
        void idleRound(int executePick) {
            nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(ClaimCursor.STALL_MILLIS + 1));
            apply(new Step(Kind.CLAIM_START, 1, 1));
            apply(new Step(Kind.CLAIM_EXECUTE, executePick, 1));
            apply(new Step(Kind.CLAIM_FINISH, 0, 0));
            checkInvariants();
            apply(new Step(Kind.CHECK_BEGIN, 0, 0));
            apply(new Step(Kind.CHECK_END, 0, 0));
            checkInvariants();
        }

        void finish(Claim claim, boolean examinedAll, int reach) {
            if (claim.own != null) {
                cluster.end(claim.own, true);
            }
            long lastFresh = Math.max(claim.frontierUsed,
                    claim.lastId == null ? claim.frontierUsed : claim.lastId - reach);
            cursor.claimed(new ClaimCursor.Outcome(claim.stamp, claim.frontierUsed, claim.settledAtStart, claim.snapshot,
                    claim.own == null ? null : claim.own.xid, claim.lastId, examinedAll, lastFresh));
            claims.remove(claim);
        }

        boolean isClaims(ClusterModel.Txn txn) {
            return claims.stream().anyMatch(c -> c.own == txn);
        }

        /** Invariants F and S (see ClaimCursor). */
        void checkInvariants() {
            long frontier = cursor.frontier();
            long settled = cursor.settled();
            assertTrue(frontier <= settled, () -> "F: frontier " + frontier + " <= settled " + settled);
            assertTrue(frontier >= lastFrontier, () -> "F: the frontier never goes back: " + frontier + " after "
                                                       + lastFrontier);
            assertTrue(settled >= lastSettled, () -> "F: settled never goes back: " + settled + " after "
                                                     + lastSettled);
            for (Map.Entry<Long, ClusterModel.Txn> drawn : cluster.drawnUpTo(settled).entrySet()) {
                if (drawn.getKey() > lastSettled && !drawn.getValue().ended()) {
                    owedScan.add(drawn.getKey());
                }
            }
            lastFrontier = frontier;
            lastSettled = settled;
            List<ClaimCursor.PendingRange> pending = cursor.pendingRanges();
            for (long id : owedScan) {
                ClusterModel.Txn owner = cluster.drawnUpTo(id).get(id);
                if (owner.state == ClusterModel.State.ABORTED) {
                    continue;
                }
                assertTrue(pending.stream().anyMatch(range -> range.after() < id && id <= range.upTo()
                                                              && range.transactions().contains(owner.xid)),
                        () -> "P: id " + id + " was settled while transaction " + owner.xid + " was in progress and"
                              + " no check has scanned it since that transaction committed, yet no pending range"
                              + " names it (pending: " + pending + ")");
            }
            for (Map.Entry<Long, ClusterModel.Txn> drawn : cluster.drawnUpTo(settled).entrySet()) {
                long id = drawn.getKey();
                ClusterModel.Txn owner = drawn.getValue();
                if (owner.ended()) {
                    continue;
                }
                boolean coveredByPending = pending.stream().anyMatch(range -> range.after() < id
                                                                          && id <= range.upTo()
                                                                          && range.transactions().contains(owner.xid));
                assertTrue(coveredByPending, () -> "S: id " + id + " <= settled " + settled + " was drawn by"
                                                   + " transaction " + owner.xid + ", still in progress, and no pending"
                                                   + " range names it (pending: " + pending + ")");
            }
        }
    }

    @Property(tries = 400)
    void everySettledIdIsVisibleOrPending(@ForAll("histories") List<Step> history, @ForAll("firstIds") long firstId,
                                          @ForAll("firstXids") long firstXid) {
        Run run = new Run(firstXid, firstId);
        for (Step step : history) {
            run.apply(step);
            run.checkInvariants();
        }
    }

    /**
     * Liveness: once the writers have ended, the claims settle every id drawn, even while transactions that hold an xid
     * and never write stay open (excused after the stall bound, and dropped from the pending ranges by the sweep's
     * check); nothing stays pending.
     */
    @Property(tries = 200)
    void idleTransactionsHoldingAnXidDoNotStopSettling(@ForAll("histories") List<Step> history,
                                                        @ForAll("firstIds") long firstId,
                                                        @ForAll("firstXids") long firstXid) {
        Run run = Run.replayed(history, firstXid, firstId);
        // every writer ends; idle ones stay, and one more starts
        for (ClusterModel.Txn txn : run.cluster.active()) {
            if (txn.writer) {
                run.cluster.end(txn, txn.xid % 2 == 0);
            }
        }
        run.cluster.begin(false);
        for (int round = 0; round < 6; round++) {
            // pick 1: the claim writes something
            run.idleRound(1);
        }
        assertTrue(run.cursor.settled() >= run.cluster.lastId(), () -> "every id drawn is settled: settled "
                                                                       + run.cursor.settled() + ", last id drawn "
                                                                       + run.cluster.lastId());
        assertEquals(0, run.cursor.pendingCount(), "nothing pending");
    }

    /**
     * Liveness on a quiet server: one writer stays open and nothing else ends (a forgotten session that inserted a row;
     * the other writers have ended), and the consumer's claims find nothing to claim or acknowledge. Idle claims
     * alone settle every id drawn (the open writer's in a pending range) and bring the frontier up to them, so that
     * claims do not walk the entries below the last message. (With a pair made from an idle claim's snapshot alone,
     * the ids were settled only once some other transaction ended; on a quiet server, never.)
     */
    @Property(tries = 200)
    void idleClaimsCatchUpWhileOneWriterStaysOpen(@ForAll("histories") List<Step> history,
                                                   @ForAll("firstIds") long firstId,
                                                   @ForAll("firstXids") long firstXid) {
        Run run = Run.replayed(history, firstXid, firstId);
        for (ClusterModel.Txn txn : run.cluster.active()) {
            run.cluster.end(txn, txn.xid % 2 == 0);
        }
        // the long writer: the newest transaction, in no snapshot's list; the last ids drawn are its own and others'
        ClusterModel.Txn longWriter = run.cluster.begin(true);
        run.cluster.draw(longWriter, 1, 0);
        ClusterModel.Txn other = run.cluster.begin(true);
        run.cluster.draw(other, 3, 1);
        run.cluster.end(other, true);
        for (int round = 0; round < 8; round++) {
            // pick 0: the claim itself writes nothing (it takes a transaction id only when asked to)
            run.idleRound(0);
        }
        assertTrue(run.cursor.settled() >= run.cluster.lastId(), () -> "every id drawn is settled: settled "
                                                                       + run.cursor.settled() + ", last id drawn "
                                                                       + run.cluster.lastId());
        assertTrue(run.cursor.frontier() >= run.cluster.lastId(), () -> "the frontier reaches the last id: "
                                                                         + run.cursor.frontier() + ", last id drawn "
                                                                         + run.cluster.lastId());
        assertTrue(run.cursor.pendingRanges().stream().anyMatch(r -> r.transactions().contains(longWriter.xid)),
                "the open writer's id waits in a pending range");
        assertFalse(run.cursor.needsXid(), "once caught up, idle claims take no transaction id");
    }

    @Provide
    Arbitrary<List<Step>> histories() {
        // weighted as a busy channel is: claims and draws often, long transactions and checks now and then
        Arbitrary<Kind> kinds = Arbitraries.frequency(Tuple.of(6, Kind.BEGIN_WRITER), Tuple.of(2, Kind.BEGIN_IDLE),
                Tuple.of(10, Kind.DRAW), Tuple.of(4, Kind.COMMIT), Tuple.of(2, Kind.ABORT),
                Tuple.of(10, Kind.CLAIM_START), Tuple.of(10, Kind.CLAIM_EXECUTE), Tuple.of(10, Kind.CLAIM_FINISH),
                Tuple.of(4, Kind.TIME), Tuple.of(3, Kind.CHECK_BEGIN), Tuple.of(3, Kind.CHECK_END));
        return Combinators.combine(kinds, Arbitraries.integers().between(0, 1000), Arbitraries.integers().between(1, 5))
                .as(Step::new).list().ofMinSize(5).ofMaxSize(250);
    }

    @Provide
    Arbitrary<Long> firstIds() {
        return Arbitraries.oneOf(Arbitraries.longs().between(1, 1000), Arbitraries.longs().between(1L << 40, 1L << 41),
                Arbitraries.longs().between(Long.MAX_VALUE - 1_000_000, Long.MAX_VALUE - 100_000));
    }

    @Provide
    Arbitrary<Long> firstXids() {
        return Arbitraries.oneOf(Arbitraries.longs().between(3, 1000), Arbitraries.longs().between(1L << 32, 1L << 62));
    }
}
