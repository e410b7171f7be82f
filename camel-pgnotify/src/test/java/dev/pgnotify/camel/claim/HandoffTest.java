package dev.pgnotify.camel.claim;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Handoff keeps items in hand by id. When an item's lease ran out and another worker of the
 * same consumer claimed it again (attempt + 1) — or a retry with retryDelay=0 was claimed again before the first
 * worker got to finished() — the first worker's finished(item) removes the NEW holder's entry: LeaseRenewal no longer
 * renews the new holder's lease, which then runs out during its exchange and the message is claimed a third time,
 * concurrently (and its key's order with it).
 */
class HandoffTest {

    @Test
    void anOldHolderFinishingDoesNotDropTheNewHoldersLease() {
        Handoff handoff = new Handoff();
        WorkStore.StoredMessage message = new WorkStore.StoredMessage(7, "body", "{}", null, true);
        WorkStore.Item firstClaim = new WorkStore.Item(7, 1, 0, List.of(message), 0);
        WorkStore.Item secondClaim = new WorkStore.Item(7, 2, 0, List.of(message), 0);

        handoff.claimed(new Long[0], List.of(firstClaim));
        // the lease ran out (renewals failed for a while); another worker of this consumer claims it again
        handoff.claimed(new Long[0], List.of(secondClaim));
        // the first worker's fenced bookkeeping finds the item claimed again and lets go of it (Delivery: SETTLED)
        handoff.finished(firstClaim);

        assertTrue(handoff.inHand().stream().anyMatch(item -> item.attempt() == 2),
                "the second claim's lease is still renewed; in hand: " + handoff.inHand());
    }
}
