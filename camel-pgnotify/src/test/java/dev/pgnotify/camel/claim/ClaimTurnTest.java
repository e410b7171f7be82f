package dev.pgnotify.camel.claim;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The turns at the claim statement: what a worker thread may wait for, and for how long. A turn never given back, or
 * waited for as long as a stuck claim takes, would stall every claim of the consumer; one given back twice would let
 * two claims overlap for good (harmless, but the point of the turns is lost).
 */
class ClaimTurnTest {

    private static final long STATEMENT_TIMEOUT = 20_000;

    private final Object first = new Object();
    private final Object second = new Object();

    /** A consumer draining a backlog of keyed messages, in claims of {@code claimMillis}. */
    private static ClaimTurn draining(long claimMillis) {
        ClaimTurn turn = new ClaimTurn();
        for (int i = 0; i < 50; i++) {
            turn.claimed(TimeUnit.MILLISECONDS.toNanos(claimMillis), true);
        }
        return turn;
    }

    @Test
    void aConsumerThatIsNotDrainingKeyedMessagesNeverWaits() {
        ClaimTurn turn = draining(4);
        assertNotNull(turn.take(first, STATEMENT_TIMEOUT));
        // the last claim came back short (messages trickle in), or full without keys (Worker tells which): a thread
        // claims at once, even while another claims
        turn.claimed(TimeUnit.MILLISECONDS.toNanos(4), false);
        long started = System.nanoTime();
        assertNull(turn.take(second, STATEMENT_TIMEOUT), "no turn needed");
        assertTrue(millisSince(started) < 1_000, "it did not wait");
    }

    @Test
    void aSlowHolderLosesItsTurnAfterAFewClaimsTimeNotTheStatementTimeout() {
        ClaimTurn turn = draining(4);
        ClaimTurn.Held slow = turn.take(first, STATEMENT_TIMEOUT);
        assertNotNull(slow);
        long started = System.nanoTime();
        ClaimTurn.Held next = turn.take(second, STATEMENT_TIMEOUT);
        long waited = millisSince(started);
        assertNotNull(next, "the slow holder's turn went to the waiting thread");
        assertSame(second, next.taker());
        assertTrue(waited >= ClaimTurn.LEAST_WAIT_MILLIS - 2 && waited < 2_000, "waited " + waited + " ms");
        // the slow claim ends: giving back a turn that was taken from it gives nothing back
        turn.giveBack(slow);
        assertHeld(turn);
        turn.giveBack(next);
        assertFree(turn);
    }

    @Test
    void aWaiterThatTimesOutBeforeTheHolderIsLateClaimsWithoutTheTurnAndLeavesItToTheHolder() {
        ClaimTurn turn = draining(4);
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        // a statement timeout shorter than the turn's wait: the waiter gives up before the holder is late
        assertNull(CompletableFuture.supplyAsync(() -> turn.take(second, 5)).join());
        turn.giveBack(held);
        assertFree(turn);
    }

    @Test
    void aTurnGivenBackTwiceIsGivenBackOnce() {
        ClaimTurn turn = draining(4);
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        // given up as stuck: given back on its behalf; then the stuck call returns and gives it back itself
        turn.giveBack(held);
        turn.giveBack(held);
        ClaimTurn.Held next = turn.take(second, STATEMENT_TIMEOUT);
        assertNotNull(next, "the turn went to the next thread");
        assertHeld(turn);
        turn.giveBack(next);
        assertFree(turn);
    }

    @Test
    void aWaitingThreadTakesTheTurnAsSoonAsItIsGivenBack() throws Exception {
        // claims of 100 ms: a waiter would take the turn from a late holder only after 400 ms
        ClaimTurn turn = draining(100);
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        CompletableFuture<Long> waited = CompletableFuture.supplyAsync(() -> {
            long started = System.nanoTime();
            ClaimTurn.Held next = turn.take(second, STATEMENT_TIMEOUT);
            assertNotNull(next);
            assertSame(second, next.taker());
            turn.giveBack(next);
            return millisSince(started);
        });
        turn.giveBack(held);
        assertTrue(waited.get(5, TimeUnit.SECONDS) < 200, "given back, not taken from a late holder");
        assertFree(turn);
    }

    @Test
    void anInterruptedWaitClaimsWithoutTheTurnAndTakesNone() {
        ClaimTurn turn = draining(100);
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        Thread.currentThread().interrupt();
        assertNull(turn.take(second, STATEMENT_TIMEOUT));
        turn.giveBack(held);
        assertFree(turn);
    }

    @Test
    void oneClaimStuckForSecondsDoesNotMakeTheNextWaitsLong() {
        ClaimTurn turn = draining(4);
        // a claim that took 20 s (a dead connection, cut by the statement timeout) finally comes back
        turn.claimed(TimeUnit.SECONDS.toNanos(20), true);
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        long started = System.nanoTime();
        ClaimTurn.Held next = CompletableFuture.supplyAsync(() -> turn.take(second, STATEMENT_TIMEOUT)).join();
        long waited = millisSince(started);
        assertNotNull(next);
        assertTrue(waited < 200, "waited " + waited + " ms");
        turn.giveBack(held);
        turn.giveBack(next);
        assertFree(turn);
    }

    @Test
    void aFailedClaimEndsTheTurnsUntilAFullKeyedClaimComesBack() {
        ClaimTurn turn = draining(100);
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        // the database went away: the next claims fail one after another, and none waits for another's turn
        turn.claimFailed();
        long started = System.nanoTime();
        assertNull(turn.take(second, STATEMENT_TIMEOUT), "no turn while claims fail");
        assertTrue(millisSince(started) < 200, "it did not wait");
        turn.giveBack(held);
        turn.claimed(TimeUnit.MILLISECONDS.toNanos(4), true);
        ClaimTurn.Held again = turn.take(first, STATEMENT_TIMEOUT);
        assertNotNull(again, "a full keyed claim turns them on again");
        turn.giveBack(again);
        assertFree(turn);
    }

    @Test
    void aRunOfSlowClaimsLengthensTheWaitNoFurtherThanTheStatementTimeoutAndItShortensAgain() {
        ClaimTurn turn = draining(4);
        // claims of 5 s each, for a while (a server saturated by something else): the wait follows, within the bound
        for (int i = 0; i < 100; i++) {
            turn.claimed(TimeUnit.SECONDS.toNanos(5), true);
        }
        ClaimTurn.Held held = turn.take(first, STATEMENT_TIMEOUT);
        long started = System.nanoTime();
        assertNull(CompletableFuture.supplyAsync(() -> turn.take(second, 150)).join(),
                "the holder is not late yet: the waiter claims without the turn once its bound runs out");
        long waited = millisSince(started);
        assertTrue(waited >= 140 && waited < 2_000, "bounded by the statement timeout: waited " + waited + " ms");
        turn.giveBack(held);
        // claims are fast again: within 60 of them the wait is back to its least
        for (int i = 0; i < 60; i++) {
            turn.claimed(TimeUnit.MILLISECONDS.toNanos(1), true);
        }
        ClaimTurn.Held slow = turn.take(first, STATEMENT_TIMEOUT);
        long startedAgain = System.nanoTime();
        ClaimTurn.Held next = CompletableFuture.supplyAsync(() -> turn.take(second, STATEMENT_TIMEOUT)).join();
        long waitedAgain = millisSince(startedAgain);
        assertNotNull(next);
        assertTrue(waitedAgain < 200, "waited " + waitedAgain + " ms");
        turn.giveBack(slow);
        turn.giveBack(next);
        assertFree(turn);
    }

    /** Another thread finds the turn held: it waits its bound, then takes it from the holder (and gives it back). */
    private static void assertHeld(ClaimTurn turn) {
        long waited = CompletableFuture.supplyAsync(() -> {
            long started = System.nanoTime();
            turn.giveBack(turn.take(new Object(), STATEMENT_TIMEOUT));
            return millisSince(started);
        }).join();
        assertTrue(waited >= ClaimTurn.LEAST_WAIT_MILLIS - 2, "the turn was free although held: waited " + waited + " ms");
    }

    /** The turn is free: another thread takes it at once (a lost turn would make it wait its bound). */
    private static void assertFree(ClaimTurn turn) {
        long waited = CompletableFuture.supplyAsync(() -> {
            long started = System.nanoTime();
            ClaimTurn.Held held = turn.take(new Object(), STATEMENT_TIMEOUT);
            assertNotNull(held);
            turn.giveBack(held);
            return millisSince(started);
        }).join();
        assertTrue(waited < ClaimTurn.LEAST_WAIT_MILLIS - 5, "the turn was not free: waited " + waited + " ms");
    }

    private static long millisSince(long startedNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
    }
}
