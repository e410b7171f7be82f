package dev.pgnotify.camel.claim;

import java.util.Set;

/** What the {@link Sweep} reads of the {@link ClaimCursor}, and tells it back. */
interface CursorView {

    /** Fresh claims scan ids above this; every id up to it is settled. */
    long frontier();

    /** Every id up to this is settled. */
    long settled();

    /** The pending ranges of excused transactions, sealed for a check; see {@link ClaimCursor#pendingForCheck}. */
    ClaimCursor.PendingCheck pendingForCheck();

    /** What the check found; see {@link ClaimCursor#resolved}. */
    void resolved(ClaimCursor.PendingCheck check, Set<Long> done);

    /** The lowest id a pending range holds, or {@code Long.MAX_VALUE}. */
    long pendingFloor();

    /** Counts the cursor's resets: when it changes, the sweep starts again from the channel's first id too. */
    long epoch();
}
