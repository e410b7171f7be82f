package dev.pgnotify.camel.claim;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a wake-up reaches a claiming consumer's workers: a NOTIFY on the table's wake-up channel (from the table's
 * trigger, or another application's producer after its commit), a producer of the same application directly (see
 * {@code LocalWakeUps}), or a timer of its own — for a delayed message that falls due later, a retry, or an item the
 * sweep saw falling due before its next run. A wake-up only makes a worker claim now; nothing is lost when one goes
 * missing, since workers also claim every pollInterval.
 */
final class WakeUps {

    private static final Logger LOG = LoggerFactory.getLogger(WakeUps.class);

    private final ClaimingConsumer consumer;

    WakeUps(ClaimingConsumer consumer) {
        this.consumer = consumer;
    }

    /**
     * A wake-up's payload is the channel, followed by a space and the id of the sending component when a pgnotify
     * producer sent it ("-" from the table's trigger), and by a space and a number of milliseconds when the messages
     * fall due that much later. A wake-up from this consumer's own component has already been delivered directly.
     */
    void onNotification(String payload) {
        String[] parts = payload.split(" ", 3);
        if (!consumer.channel().equals(parts[0])
            || parts.length > 1 && parts[1].equals(consumer.getEndpoint().localWakeUps().id())) {
            return;
        }
        long delay = 0;
        if (parts.length > 2) {
            try {
                delay = Long.parseLong(parts[2]);
            } catch (NumberFormatException e) {
                LOG.debug("Ignoring the delay of a wake-up with payload '{}'", payload);
            }
        }
        wakeUp(delay);
    }

    /** Claims now, or when messages fall due that many milliseconds from now. */
    void wakeUp(long delayMillis) {
        if (delayMillis > 0) {
            // it may lie above or below the frontier: claim then, and sweep
            schedule(() -> {
                consumer.wakeOne();
                consumer.sweepSoon();
            }, delayMillis);
        } else {
            consumer.wakeOne();
            if (consumer.cursor().pendingCount() > 0) {
                // a long transaction the cursor excused may just have committed: its ids are checked (and read, if
                // so) now, rather than up to a poll interval later
                sweepAtMostEvery(PENDING_SWEEP_MILLIS);
            }
        }
    }

    /** The least time between two sweeps that wake-ups ask for while long transactions are pending. */
    private static final long PENDING_SWEEP_MILLIS = 50;

    private final AtomicLong lastPendingSweep = new AtomicLong(System.nanoTime());

    private void sweepAtMostEvery(long millis) {
        long now = System.nanoTime();
        long last = lastPendingSweep.get();
        if (now - last >= TimeUnit.MILLISECONDS.toNanos(millis) && lastPendingSweep.compareAndSet(last, now)) {
            consumer.checkPendingSoon();
        }
    }

    /** Hands the item to a claim that many milliseconds from now (a retry, or an item the sweep saw falling due). */
    void dueIn(long itemId, long delayMillis) {
        Handoff handoff = consumer.handoff();
        if (handoff.schedule(itemId) && !schedule(() -> {
            handoff.scheduledDue(itemId);
            consumer.wakeOne();
        }, delayMillis)) {
            handoff.unschedule(itemId);
        }
    }

    private boolean schedule(Runnable task, long delayMillis) {
        ScheduledExecutorService scheduler = consumer.timers();
        if (scheduler == null || !consumer.isRunning()) {
            return false;
        }
        try {
            scheduler.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
            return true;
        } catch (RejectedExecutionException e) {
            // stopping
            return false;
        }
    }
}
