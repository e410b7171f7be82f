package dev.pgnotify.camel.claim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tells a queue consumer's idle threads that messages may be due, and hands them items another thread claimed. A
 * wake-up is a permit that stays until a thread takes it, so one that arrives while a thread is still claiming is not
 * lost. New messages wake one thread (its claim serves all of them, and more threads would only run empty claims); a
 * thread that claims a full batch wakes the next one, so that a backlog is worked on by all of them.
 * <p>
 * A claim of several items made while other threads of the consumer wait idle is shared with them ({@link #handOff}):
 * it is cut into parts of equal size, one for each idle thread and one for the claiming thread. Without it a
 * burst waited behind the claiming thread's route while the others waited idle (16 threads, bursts of ten jobs of 1 ms:
 * the tenth started 9 ms late). Every thread of a shared claim, the claiming one included, leaves the acknowledgements
 * of its part here ({@link #acknowledgeLater}) for the next claim of any thread, and goes back to waiting: helping
 * costs no claim of its own. Parts handed off and not taken yet, and acknowledgements left, are still in the
 * consumer's hands (their leases are renewed); a thread that stops or pauses hands the first back to the table
 * ({@link #takeAllHandedOff}) and sends the second.
 */
final class WakeUpSignal {

    /** Why {@link #await} returned. */
    enum Woken {
        /** A wake-up: messages may be due. */
        WAKE_UP,
        /** Items were handed off: take one ({@link #takeHandedOff}); no claim was asked for. */
        HANDED_OFF,
        /** Nothing came within the wait. */
        TIMED_OUT
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition woken = lock.newCondition();
    private final int threads;
    private int permits;
    /** Threads waiting in {@link #await} now: idle. */
    private int waiting;
    /** Parts of claims handed off, for idle threads to deliver, each part by one thread in its order. */
    private final ArrayDeque<List<WorkStore.Item>> handedOff = new ArrayDeque<>();
    /** Items of shared claims, delivered, whose acknowledgement waits for the next claim of any thread. */
    private final List<WorkStore.Item> leftAcknowledgements = new ArrayList<>();

    WakeUpSignal(int threads) {
        this.threads = threads;
    }

    /** Wakes one idle thread (or lets the next thread that goes idle claim at once). */
    void wakeOne() {
        lock.lock();
        try {
            if (permits == 0) {
                permits = 1;
                woken.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every thread: at start, after a reconnect, when stopping. */
    void wakeAll() {
        lock.lock();
        try {
            permits = threads;
            woken.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Takes a wake-up that came meanwhile, without waiting; returns whether there was one. */
    boolean tryTake() {
        lock.lock();
        try {
            if (permits > 0) {
                permits--;
                return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** How many threads wait idle now. */
    int idleThreads() {
        lock.lock();
        try {
            return waiting;
        } finally {
            lock.unlock();
        }
    }

    /** Hands parts of a claim to the idle threads, waking as many of them as there are parts. */
    void handOff(Collection<List<WorkStore.Item>> parts) {
        lock.lock();
        try {
            handedOff.addAll(parts);
            for (int i = Math.min(waiting, parts.size()); i > 0; i--) {
                woken.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The next part handed off, or null. */
    List<WorkStore.Item> takeHandedOff() {
        lock.lock();
        try {
            return handedOff.poll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * A thread delivered an item of a shared claim: its acknowledgement goes with the next claim of any thread. Returns
     * whether it is the first left since the last claim took them: that thread claims if no claim came soon.
     */
    boolean acknowledgeLater(WorkStore.Item item) {
        lock.lock();
        try {
            leftAcknowledgements.add(item);
            return leftAcknowledgements.size() == 1;
        } finally {
            lock.unlock();
        }
    }

    boolean hasLeftAcknowledgements() {
        lock.lock();
        try {
            return !leftAcknowledgements.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** The acknowledgements left, for the claim that sends them. */
    List<WorkStore.Item> takeLeftAcknowledgements() {
        lock.lock();
        try {
            if (leftAcknowledgements.isEmpty()) {
                return List.of();
            }
            List<WorkStore.Item> all = new ArrayList<>(leftAcknowledgements);
            leftAcknowledgements.clear();
            return all;
        } finally {
            lock.unlock();
        }
    }

    /** Every item handed off and not taken: to hand back to the table when the consumer stops or pauses. */
    List<WorkStore.Item> takeAllHandedOff() {
        lock.lock();
        try {
            List<WorkStore.Item> all = new ArrayList<>();
            handedOff.forEach(all::addAll);
            handedOff.clear();
            return all;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for a wake-up or a part handed off, at most {@code timeoutMillis}; takes the wake-up (not the part).
     */
    Woken await(long timeoutMillis) throws InterruptedException {
        lock.lock();
        try {
            long remaining = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (permits == 0 && handedOff.isEmpty() && remaining > 0) {
                waiting++;
                try {
                    remaining = woken.awaitNanos(remaining);
                } finally {
                    waiting--;
                }
            }
            if (!handedOff.isEmpty()) {
                return Woken.HANDED_OFF;
            }
            if (permits > 0) {
                permits--;
                return Woken.WAKE_UP;
            }
            return Woken.TIMED_OUT;
        } finally {
            lock.unlock();
        }
    }
}
