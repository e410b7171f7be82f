package dev.pgnotify.camel.claim;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.connection.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer thread: acknowledges what it finished and claims due items in one round trip, delivers them
 * ({@link Delivery}), and waits for a wake-up when there was nothing to claim. A thread stuck in a database call past
 * its bound is abandoned and replaced ({@link StuckThreads}); what it held is then no longer
 * renewed and is delivered again once its leases run out.
 * <p>
 * An interrupt of this thread never stops the consumer: a route or library may leave the flag set, and Camel's own
 * stop sets {@code running} before it interrupts. A wait that an interrupt ends is simply over; the loop then checks
 * whether the consumer is still running.
 * <p>
 * A claim made while other threads wait idle is shared with them ({@link WakeUpSignal}, docs/claim-engine.md rule
 * "Sharing"). The class is longer than most here because its loop, its claim, its share of a shared claim and its
 * waits all read and write one thread's state (what it holds, what it must acknowledge, whether it was woken or is
 * idle): split apart, each piece would need all of it.
 */
final class Worker implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /**
     * The least time between two claims of a thread while messages trickle in: what arrives meanwhile shares the next
     * claim. Each claim is a transaction; one per message cost half of a streaming producer's throughput on two
     * cores. A backlog (a full claim) is claimed again at once.
     */
    private static final long MIN_CLAIM_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** The longest pause between two claims while messages trickle in, for a store that spaces its claims by cost. */
    private static final long MAX_CLAIM_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(4);
    /**
     * How long acknowledgements a thread left (after delivering items handed off) wait for another thread's claim
     * before that thread claims to send them: the next message of a key waits for them.
     */
    static final long LEFT_ACKNOWLEDGEMENTS_WAIT_MILLIS = 5;
    /**
     * The most idle threads one claim is shared with: each costs a wake-up (and, if it finds its part taken, another
     * wait), on the same cores as the producers; parts of 8 threads already cut a burst's wait eightfold.
     */
    static final int MAX_HELPERS = 8;
    /** With listen=false: the first wait after a claim that found nothing; each further one doubles it. */
    private static final long FIRST_IDLE_POLL_MILLIS = 10;
    static final String CLAIMING = "claiming messages";

    private final ClaimingConsumer consumer;
    private final long run;
    /** This run's resources, kept by the thread even if the consumer stops while it finishes. */
    private final Database database;
    private final WorkStore store;
    private final PgNotifyConfiguration configuration;
    private final Delivery delivery;
    /** This run's turns at the claim statement. */
    private final ClaimTurn turn;
    /** This run's wake-ups, and the items its threads hand each other. */
    private final WakeUpSignal signal;
    /** This thread's turn while it has one, to give back if the thread is given up. */
    private volatile ClaimTurn.Held heldTurn;
    private final List<WorkStore.Item> acknowledgements = new ArrayList<>();
    /** Claimed and not yet finished by this thread, to drop if it is replaced. */
    private final Map<Long, WorkStore.Item> held = new ConcurrentHashMap<>();
    private long lastClaimNanos = System.nanoTime() - MAX_CLAIM_INTERVAL_NANOS;
    /** How long after the last claim's start the next one may start while messages trickle in. */
    private long claimIntervalNanos = MIN_CLAIM_INTERVAL_NANOS;
    private boolean lastClaimFull;
    private boolean woken = true;
    /** Whether this thread's last claim found nothing: it waits, and helps with other threads' claims. */
    private boolean idle;
    /** Whether this thread left acknowledgements for another thread's claim since it last claimed. */
    private boolean leftAcknowledgements;
    /** Whether this thread claims to send acknowledgements left, which no other thread's claim took in time. */
    private boolean claimToAcknowledge;
    /** Whether this thread's last claim was shared with idle threads (see {@link #shareWithIdleThreads}). */
    private boolean shared;
    /** With listen=false: how long to wait after the next claim that finds nothing. */
    private long idlePollWait = FIRST_IDLE_POLL_MILLIS;
    private volatile boolean abandoned;
    private volatile boolean exited;
    private volatile String callWhat;
    private volatile long callStartedNanos;

    Worker(ClaimingConsumer consumer, Database database, WorkStore store) {
        this.consumer = consumer;
        // a thread still in a route when the consumer stopped and started again must not claim for the new run
        this.run = consumer.run();
        this.database = database;
        this.store = store;
        this.configuration = consumer.configuration();
        this.delivery = new Delivery(consumer, this);
        this.turn = consumer.claimTurn();
        this.signal = consumer.signal();
    }

    @Override
    public void run() {
        while (mayContinue()) {
            if (consumer.isPaused()) {
                // a pause may outlast the leases: what is done is acknowledged now, not redelivered; what another
                // thread handed off goes back for other consumers
                releaseHandedOff();
                flushAcknowledgements();
                awaitResume();
                continue;
            }
            List<WorkStore.Item> handedOff = signal.takeHandedOff();
            if (handedOff != null) {
                // a part of another thread's claim: delivered before this thread claims again
                deliverHandedOff(handedOff);
                continue;
            }
            if (idle && !woken && !claimToAcknowledge && !consumer.handoff().hasDue()) {
                // an idle thread that delivered a part of another's claim goes back to waiting: it claims only for a
                // wake-up, its poll, ids due, or acknowledgements left too long (see WakeUpSignal)
                awaitWakeUp();
                continue;
            }
            if (!lastClaimFull) {
                lingerAfterLastClaim();
            }
            if (!woken && !lastClaimFull && signal.tryTake()) {
                // a wake-up came while this thread was processing: this claim answers it (mode=topic cuts first),
                // rather than a claim that finds nothing followed by another once the thread goes idle (after a full
                // claim the wake-up is another thread's, to help with the backlog)
                woken = true;
            }
            List<WorkStore.Item> claimed;
            try {
                lastClaimNanos = System.nanoTime();
                boolean answersWakeUp = woken;
                woken = false;
                claimToAcknowledge = false;
                claimed = acknowledgeAndClaim(answersWakeUp);
                if (claimed == null) {
                    // stopped or paused while waiting for the turn: the loop sees which; a wake-up is still to answer
                    woken = answersWakeUp;
                    continue;
                }
                consumer.claimSucceeded();
            } catch (Exception | Error e) {
                // an Error too (a body too large for the heap, say): the thread must live on, and the message ends in
                // the dead-letter table after its attempts, claimed without its body
                if (!mayContinue()) {
                    LOG.debug("A claim of {} ended with the consumer's stop", consumer.workKey(), e);
                    break;
                }
                clearStrayInterrupt();
                consumer.claimFailed(e);
                woken = true;
                continue;
            }
            if (abandoned) {
                break;
            }
            idle = claimed.isEmpty();
            if (idle) {
                awaitWakeUp();
                continue;
            }
            idlePollWait = FIRST_IDLE_POLL_MILLIS;
            if (lastClaimFull) {
                // there is probably more: a second thread helps
                signal.wakeOne();
            }
            deliverAll(shareWithIdleThreads(claimed));
            if (shared) {
                // a shared claim's thread, its part delivered, waits like its helpers: the next messages come with
                // their wake-up, whose claim sends every part's acknowledgements (a claim of its own right away would
                // race that claim, and one of the two would find nothing)
                leaveAcknowledgements();
                idle = true;
            }
        }
        if (!abandoned) {
            releaseHandedOff();
            flushAcknowledgements();
        } else {
            // a call that returned just as the thread was given up may have put items in its hands after abandon()
            // finished them: finished again here (by claim, so at most once each), they are not renewed forever
            held.values().forEach(consumer.handoff()::finished);
        }
        consumer.workerExited(this);
        exited = true;
    }

    /** Whether to go on: the consumer runs, this thread was not given up, and it is of this run of the consumer. */
    boolean mayContinue() {
        return consumer.isRunning() && consumer.run() == run && !abandoned;
    }

    Database database() {
        return database;
    }

    boolean isAbandoned() {
        return abandoned;
    }

    boolean hasExited() {
        return exited;
    }

    String callWhat() {
        return callWhat;
    }

    <T> T call(String what, Database.Work<T> work) throws SQLException {
        return call(what, database.statementTimeoutMillis(), work);
    }

    private <T> T call(String what, long timeoutMillis, Database.Work<T> work) throws SQLException {
        callWhat = what;
        callStartedNanos = System.nanoTime();
        try {
            return database.call(consumer, what, timeoutMillis, work);
        } finally {
            callWhat = null;
        }
    }

    /** How long this thread has been in its current database call, or -1 when it is in none. */
    long millisInCall() {
        return callWhat == null ? -1 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - callStartedNanos);
    }

    /** Gives the thread up (it is stuck): its claims are no longer renewed and are delivered again later. */
    void abandon() {
        abandoned = true;
        turn.giveBack(heldTurn);
        held.values().forEach(consumer.handoff()::finished);
    }

    /** The item left this thread's hands (see {@link Delivery}). */
    void finished(WorkStore.Item item) {
        consumer.handoff().finished(item);
        held.remove(item.id(), item);
    }

    /** Clears an interrupt flag that a route or a library left set; see the class comment. */
    void clearStrayInterrupt() {
        if (Thread.interrupted() && consumer.isRunning()) {
            LOG.debug("A consumer thread of {} was interrupted (by the route, or a library it called); it goes on",
                    consumer.workKey());
        }
    }

    /**
     * Shares a claim of several items with the consumer's idle threads (see {@link WakeUpSignal}): the claim is cut
     * into as many parts of equal size as there are idle threads and this one (no more parts than items), each in
     * claim order; the idle threads are handed all but the first, which this thread delivers. While every thread
     * works, or from a backlog, nothing is handed off and a thread delivers its whole claim, as a consumer of one
     * thread always does.
     */
    private List<WorkStore.Item> shareWithIdleThreads(List<WorkStore.Item> claimed) {
        // a backlog is not shared: a thread woken for it claims its own (above), where a helper would deliver its part
        // and wait again (measured: with 16 threads offered 16,000 jobs/s, 3,371 completed a second against 12,641)
        int helpers = claimed.size() < 2 || lastClaimFull || abandoned ? 0
                : Math.min(Math.min(signal.idleThreads(), MAX_HELPERS), claimed.size() - 1);
        shared = helpers > 0;
        if (!shared) {
            return claimed;
        }
        int partSize = (claimed.size() + helpers) / (helpers + 1);
        List<List<WorkStore.Item>> parts = new ArrayList<>();
        for (int from = partSize; from < claimed.size(); from += partSize) {
            List<WorkStore.Item> part = List.copyOf(claimed.subList(from, Math.min(claimed.size(), from + partSize)));
            // the thread that takes a part holds it (its leases are renewed meanwhile by the consumer, see Handoff)
            part.forEach(item -> held.remove(item.id(), item));
            parts.add(part);
        }
        signal.handOff(parts);
        return claimed.subList(0, partSize);
    }

    /**
     * Delivers a part of another thread's claim, in order. The acknowledgements go with the next claim of any thread
     * of the consumer ({@link WakeUpSignal#acknowledgeLater}); this thread makes that claim itself if none came within
     * {@link #LEFT_ACKNOWLEDGEMENTS_WAIT_MILLIS}.
     */
    private void deliverHandedOff(List<WorkStore.Item> part) {
        part.forEach(item -> held.put(item.id(), item));
        for (int i = 0; i < part.size(); i++) {
            if (abandoned) {
                return;
            }
            if (!consumer.isRunning() || consumer.isPaused()) {
                release(part.subList(i, part.size()));
                return;
            }
            WorkStore.Item item = part.get(i);
            switch (delivery.deliver(item)) {
                case DONE -> {
                    held.remove(item.id(), item);
                    // the first to leave one sees to it that a claim sends them (one timer, not one a thread)
                    leftAcknowledgements |= signal.acknowledgeLater(item);
                }
                case STOPPED -> {
                    release(part.subList(i, part.size()));
                    return;
                }
                case SETTLED, LEFT -> {
                    // retried, dead-lettered or claimed again meanwhile; or left to its lease after bookkeeping failed
                }
            }
        }
    }

    private void deliverAll(List<WorkStore.Item> claimed) {
        for (int i = 0; i < claimed.size(); i++) {
            if (abandoned) {
                return;
            }
            if (!consumer.isRunning() || consumer.isPaused()) {
                // stopping or paused (Camel suspends consumers at the start of a graceful shutdown): the rest of the
                // claim goes back at once, for other consumers, rather than when its leases run out
                release(claimed.subList(i, claimed.size()));
                return;
            }
            WorkStore.Item item = claimed.get(i);
            switch (delivery.deliver(item)) {
                case DONE -> acknowledgements.add(item);
                case STOPPED -> {
                    // handed back with its progress, so that the next consumer resumes after what is done
                    release(claimed.subList(i, claimed.size()));
                    return;
                }
                case SETTLED, LEFT -> {
                    // retried, dead-lettered or claimed again meanwhile; or left to its lease after bookkeeping failed
                }
            }
        }
    }

    /**
     * Acknowledges and claims in this thread's turn (see {@link ClaimTurn}): the cursor is read within it, so that the
     * claim starts where the previous one left the frontier. Null when the consumer stopped or paused (or this thread
     * was given up) while the thread waited for its turn: nothing was claimed, nothing acknowledged.
     */
    private List<WorkStore.Item> acknowledgeAndClaim(boolean answersWakeUp) throws SQLException {
        ClaimTurn.Held myTurn = turn.take(this, database.statementTimeoutMillis());
        heldTurn = myTurn;
        try {
            if (!mayContinue() || consumer.isPaused()) {
                return null;
            }
            return acknowledgeAndClaimNow(answersWakeUp);
        } finally {
            heldTurn = null;
            turn.giveBack(myTurn);
        }
    }

    private List<WorkStore.Item> acknowledgeAndClaimNow(boolean answersWakeUp) throws SQLException {
        // the acknowledgements threads left after delivering items handed off go with this claim (and stay with this
        // thread, for its next claim, if it fails)
        takeLeftAcknowledgements();
        int batch = configuration.getMaxMessagesPerPoll();
        ClaimCursor cursor = consumer.cursor();
        long startedAt = cursor.claimStarting();
        long frontier = cursor.frontier();
        long settledAtStart = cursor.settled();
        boolean needsXid = cursor.needsXid();
        Handoff handoff = consumer.handoff();
        Long[] dueIds = handoff.takeDue(batch);
        WorkStore.ClaimRequest request = new WorkStore.ClaimRequest(List.copyOf(acknowledgements), dueIds, frontier,
                batch, configuration.getMaxBytesPerPoll(), configuration.getLeaseTime(),
                configuration.getMaxAttempts(), answersWakeUp, consumer.theSweep().unfinishedFrom(),
                needsXid);
        WorkStore.Claim claim;
        // the statement's own time, without the wait for a pooled connection: a pool that ran dry for a while must not
        // make the turns' waits as long as its borrows (see ClaimTurn)
        long[] tookNanos = new long[1];
        try {
            claim = call(CLAIMING, database.statementTimeoutMillis(), connection -> {
                long startedNanos = System.nanoTime();
                WorkStore.Claim claimed = store.claim(connection, request);
                tookNanos[0] = System.nanoTime() - startedNanos;
                return claimed;
            });
        } catch (SQLException | RuntimeException e) {
            handoff.claimFailed(dueIds);
            turn.claimFailed();
            throw e;
        }
        for (WorkStore.Item item : acknowledgements) {
            finished(item);
        }
        acknowledgements.clear();
        for (WorkStore.Item item : claim.items()) {
            held.put(item.id(), item);
        }
        handoff.claimed(dueIds, claim.items());
        boolean examinedAll = claim.freshCandidates() < batch && claim.freshClaimed() == claim.freshCandidates();
        cursor.claimed(new ClaimCursor.Outcome(startedAt, frontier, settledAtStart,
                ClaimCursor.Snapshot.parse(claim.snapshot()),
                claim.claimXid(), claim.lastId(), examinedAll, Math.max(frontier, claim.lastFreshClaimed())));
        boolean full = claim.items().size() >= batch;
        lastClaimFull = full || !examinedAll || handoff.hasDue() || store.leftBacklog();
        // turns only for a claim that came back full: one that skipped keys in flight, or left ids due, is not a
        // backlog, and a message that is due must not wait behind another thread's claim
        turn.claimed(tookNanos[0], full && claimedKeyed(claim.items()));
        claimIntervalNanos = claimInterval(store.claimSpacing(), tookNanos[0]);
        return claim.items();
    }

    /**
     * How long after a claim's start the next may start while messages trickle in (see
     * {@link WorkStore#claimSpacing}): {@code spacing} times the claim's own time, so that with 2 a thread spends at
     * most half of a trickle's time in claims of up to 2 ms; never less than a millisecond, never more than four.
     */
    static long claimInterval(int spacing, long claimTookNanos) {
        long spaced = spacing * Math.max(0, Math.min(claimTookNanos, MAX_CLAIM_INTERVAL_NANOS));
        return Math.max(MIN_CLAIM_INTERVAL_NANOS, Math.min(MAX_CLAIM_INTERVAL_NANOS, spaced));
    }

    private static boolean claimedKeyed(List<WorkStore.Item> items) {
        for (WorkStore.Item item : items) {
            for (WorkStore.StoredMessage message : item.messages()) {
                if (message.key() != null) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Hands claimed but unprocessed items back at once, instead of when their lease runs out. */
    private void release(List<WorkStore.Item> unprocessed) {
        try {
            call("handing back claimed messages", ClaimingConsumer.STOP_CALL_TIMEOUT_MILLIS, connection -> {
                store.release(connection, unprocessed);
                return null;
            });
        } catch (Exception e) {
            LOG.debug("Could not hand back {} claimed item(s); they are delivered again when their lease runs out",
                    unprocessed.size(), e);
        }
        unprocessed.forEach(this::finished);
    }

    /** Hands the items handed off and not taken back to the table, for other consumers (stopping or pausing). */
    private void releaseHandedOff() {
        List<WorkStore.Item> left = signal.takeAllHandedOff();
        if (!left.isEmpty()) {
            // in this thread's hands while it hands them back: given up as stuck meanwhile, it lets them go
            left.forEach(item -> held.put(item.id(), item));
            release(left);
        }
    }

    /** Leaves this thread's acknowledgements for the next claim of any thread (see {@link WakeUpSignal}). */
    private void leaveAcknowledgements() {
        for (WorkStore.Item item : acknowledgements) {
            held.remove(item.id(), item);
            leftAcknowledgements |= signal.acknowledgeLater(item);
        }
        acknowledgements.clear();
    }

    /** Takes the acknowledgements left into this thread's own, held: finished if this thread is given up. */
    private void takeLeftAcknowledgements() {
        for (WorkStore.Item item : signal.takeLeftAcknowledgements()) {
            held.put(item.id(), item);
            acknowledgements.add(item);
        }
        leftAcknowledgements = false;
    }

    private void flushAcknowledgements() {
        takeLeftAcknowledgements();
        if (acknowledgements.isEmpty()) {
            return;
        }
        clearStrayInterrupt();
        try {
            call("acknowledging messages",
                    Math.min(ClaimingConsumer.STOP_CALL_TIMEOUT_MILLIS, database.statementTimeoutMillis()), connection -> {
                        store.acknowledge(connection, acknowledgements);
                        return null;
                    });
        } catch (Exception e) {
            LOG.info("Could not acknowledge {} processed item(s) of {} while stopping or pausing; they will be delivered"
                     + " again: {}", acknowledgements.size(), consumer.workKey(), e.getMessage());
        }
        acknowledgements.forEach(this::finished);
        acknowledgements.clear();
    }

    void logBookkeepingFailure(String message, Exception e) {
        if (mayContinue()) {
            LOG.warn("{} ({}): {}", message, consumer.workKey(), e.getMessage());
        } else {
            LOG.debug("{} ({})", message, consumer.workKey(), e);
        }
    }

    private void lingerAfterLastClaim() {
        long wait = lastClaimNanos + claimIntervalNanos - System.nanoTime();
        if (wait > 0) {
            consumer.pause(wait);
        }
    }

    private void awaitResume() {
        try {
            signal.await(configuration.getPollInterval());
            // once resumed, claim at once: wake-ups that came meanwhile were not answered
            woken = true;
        } catch (InterruptedException e) {
            // see the class comment: the loop checks whether the consumer still runs
            woken = true;
        }
    }

    private void awaitWakeUp() {
        try {
            if (consumer.handoff().hasDue()) {
                return;
            }
            long wait = configuration.getPollInterval();
            if (!configuration.isListen()) {
                // polling instead of LISTEN: soon after work, less and less often while there is none
                wait = Math.min(wait, idlePollWait);
                idlePollWait = Math.min(configuration.getPollInterval(), idlePollWait * 2);
            }
            boolean mustAcknowledge = leftAcknowledgements;
            if (mustAcknowledge) {
                // acknowledgements this thread left wait for a claim: at most this long
                wait = Math.min(wait, LEFT_ACKNOWLEDGEMENTS_WAIT_MILLIS);
            }
            WakeUpSignal.Woken why = signal.await(wait);
            if (why == WakeUpSignal.Woken.HANDED_OFF) {
                // items handed off ask for no claim: this thread delivers one, and waits again
                woken = false;
            } else if (why == WakeUpSignal.Woken.TIMED_OUT && mustAcknowledge) {
                // a claim to send the acknowledgements left, if no other thread's claim took them meanwhile; it
                // answers no wake-up (mode=topic: it does not cut)
                leftAcknowledgements = false;
                claimToAcknowledge = signal.hasLeftAcknowledgements();
                woken = false;
            } else {
                woken = true;
            }
        } catch (InterruptedException e) {
            // see the class comment
            woken = true;
        }
    }
}
