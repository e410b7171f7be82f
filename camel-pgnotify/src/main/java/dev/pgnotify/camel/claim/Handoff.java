package dev.pgnotify.camel.claim;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The ids a consumer hands between its sweep, its timers, its claims and its workers: items due below the frontier
 * (for the next claim to take by id), items in hand (claimed and not yet finished, whose leases are renewed), items a
 * claim could not take (for the sweep to keep an eye on), and items whose wake-up is scheduled.
 * <p>
 * Nothing here decides what is delivered, only when an item is asked for: an item forgotten here stays in the table
 * and is found again by the sweep (see {@link Sweep}). So these sets may be bounded and may lose an id without losing
 * a message. Thread-safe: workers, the sweeper and timers use it at once.
 */
final class Handoff {

    /** The most wake-ups scheduled at once; items beyond are found by the sweep, up to a poll interval later. */
    static final int MAX_SCHEDULED = 10_000;

    private final Queue<Long> due = new ConcurrentLinkedQueue<>();
    private final Set<Long> dueSet = ConcurrentHashMap.newKeySet();
    private final Map<Long, WorkStore.Item> inHand = new ConcurrentHashMap<>();
    private final Queue<Long> recheck = new ConcurrentLinkedQueue<>();
    private final Set<Long> scheduled = ConcurrentHashMap.newKeySet();

    void clear() {
        due.clear();
        dueSet.clear();
        inHand.clear();
        recheck.clear();
        scheduled.clear();
    }

    /** An item is due: the next claim asks for it by id. */
    void addDue(long id) {
        if (dueSet.add(id)) {
            due.add(id);
        }
    }

    boolean hasDue() {
        return !due.isEmpty();
    }

    /** Takes up to {@code max} due ids for a claim. */
    Long[] takeDue(int max) {
        List<Long> taken = new ArrayList<>();
        Long id;
        while (taken.size() < max && (id = due.poll()) != null) {
            dueSet.remove(id);
            taken.add(id);
        }
        return taken.toArray(new Long[0]);
    }

    /**
     * A claim that asked for {@code taken} returned {@code claimed}: those are in hand now; the others are due again
     * when the claim stopped at its budget before them, else (in another consumer's hands, waiting for their key, or
     * gone) for the sweep to look at again.
     */
    void claimed(Long[] taken, Collection<WorkStore.Item> claimed) {
        Set<Long> claimedIds = new HashSet<>();
        for (WorkStore.Item item : claimed) {
            inHand.put(item.id(), item);
            claimedIds.add(item.id());
        }
        for (Long id : taken) {
            if (!claimedIds.contains(id)) {
                if (!claimed.isEmpty()) {
                    addDue(id);
                } else {
                    recheck.add(id);
                }
            }
        }
    }

    /** A claim that asked for {@code taken} failed: the sweep looks at them again. */
    void claimFailed(Long[] taken) {
        recheck.addAll(List.of(taken));
    }

    /** The sweep looks at this item again (its lease runs out, say). */
    void recheck(long id) {
        recheck.add(id);
    }

    /** The next id to look at again, or null. */
    Long pollRecheck() {
        return recheck.poll();
    }

    boolean isInHand(long id) {
        return inHand.containsKey(id);
    }

    Collection<WorkStore.Item> inHand() {
        return inHand.values();
    }

    int inHandCount() {
        return inHand.size();
    }

    /**
     * The item is no longer this consumer's to renew: acknowledged, settled, handed back or left to its lease. Only this
     * claim of it: a newer claim of the same id (its lease ran out and a worker of this consumer claimed it again, or a
     * retry falling due at once) keeps its lease.
     */
    void finished(WorkStore.Item item) {
        inHand.remove(item.id(), item);
    }

    /** Reserves a scheduled wake-up for the item; false when one is scheduled already, or too many are. */
    boolean schedule(long id) {
        return scheduled.size() < MAX_SCHEDULED && scheduled.add(id);
    }

    /** The item's scheduled wake-up came: it is due. */
    void scheduledDue(long id) {
        addDue(id);
        scheduled.remove(id);
    }

    void unschedule(long id) {
        scheduled.remove(id);
    }
}
