package dev.pgnotify.camel.claim;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tells a queue consumer's idle threads that messages may be due. A wake-up is a permit that stays until a thread
 * takes it, so one that arrives while a thread is still claiming is not lost. New messages wake one thread (its claim
 * serves all of them, and more threads would only run empty claims); a thread that claims a full batch wakes the next
 * one, so that a backlog is worked on by all of them.
 */
final class WakeUpSignal {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition woken = lock.newCondition();
    private final int threads;
    private int permits;

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

    /** Waits for a wake-up, at most {@code timeoutMillis}; returns whether one came. */
    boolean await(long timeoutMillis) throws InterruptedException {
        lock.lock();
        try {
            long remaining = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            while (permits == 0 && remaining > 0) {
                remaining = woken.awaitNanos(remaining);
            }
            if (permits > 0) {
                permits--;
                return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }
}
