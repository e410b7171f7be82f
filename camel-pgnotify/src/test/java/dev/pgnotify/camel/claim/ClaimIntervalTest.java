package dev.pgnotify.camel.claim;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pause between a thread's claims while messages trickle in ({@link Worker#claimInterval}): what a message may
 * wait for its claim beyond the claim itself is bounded, whatever the claims cost.
 */
class ClaimIntervalTest {

    private static final long MILLI = 1_000_000L;

    @Test
    void aQueueClaimsAtMostOnceAMillisecondWhateverItsClaimsCost() {
        assertEquals(MILLI, Worker.claimInterval(0, 300_000));
        assertEquals(MILLI, Worker.claimInterval(0, 50 * MILLI));
    }

    @Test
    void aTopicSpacesItsClaimsByTheirCost() {
        // a cheap claim: the least pause
        assertEquals(MILLI, Worker.claimInterval(2, 200_000));
        // a claim of 1.5 ms on a busy server: the next starts 3 ms after it started
        assertEquals(3 * MILLI, Worker.claimInterval(2, 1_500_000));
        // a slow claim never makes the trickle wait more than 4 ms
        assertEquals(4 * MILLI, Worker.claimInterval(2, 30_000 * MILLI));
    }

    @Property
    void theIntervalStaysWithinItsBounds(@ForAll @IntRange(min = 0, max = 16) int spacing,
            @ForAll @LongRange(min = -1_000_000L, max = Long.MAX_VALUE) long took) {
        long interval = Worker.claimInterval(spacing, took);
        assertTrue(interval >= MILLI && interval <= 4 * MILLI, () -> "interval " + interval);
        if (spacing == 0) {
            assertEquals(MILLI, interval);
        }
    }

    @Property
    void aCostlierClaimIsNeverFollowedSooner(@ForAll @IntRange(min = 0, max = 16) int spacing,
            @ForAll @LongRange(min = 0, max = 1_000_000_000L) long took,
            @ForAll @LongRange(min = 0, max = 1_000_000L) long more) {
        assertTrue(Worker.claimInterval(spacing, took + more) >= Worker.claimInterval(spacing, took));
    }
}
