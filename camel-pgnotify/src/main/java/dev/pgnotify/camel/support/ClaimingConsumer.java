package dev.pgnotify.camel.support;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.RollbackExchangeException;
import org.apache.camel.Suspendable;
import org.apache.camel.api.management.ManagedAttribute;
import org.apache.camel.api.management.ManagedOperation;
import org.apache.camel.api.management.ManagedResource;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.spi.ExecutorServiceManager;
import org.apache.camel.support.DefaultConsumer;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer that leases work from a table ({@link WorkStore}): mode=queue's messages, and mode=topic's batches of
 * a group. It claims due items and turns each message into an exchange; acknowledges (deletes) the items whose
 * exchanges completed, schedules a retry with backoff for a message that failed, and moves those that exhausted their
 * attempts to the dead-letter table. NOTIFY only wakes it: it claims at start, after every (re)LISTEN, on every wake-up
 * for it and every pollInterval, so nothing depends on a notification arriving.
 * <p>
 * Claims are leases: a claimed item becomes due again when its lease runs out, which is how the work of a consumer
 * that died is delivered again. A running exchange's lease is renewed, so it is never taken away. Delivery is
 * therefore at least once.
 * <p>
 * Claims start at a frontier ({@link ClaimCursor}), so that their cost stays flat while another session's old
 * snapshot keeps vacuum from removing acknowledged rows. What lies below the frontier and may still become due — an
 * item leased by another consumer that dies, a retry another consumer scheduled, a row of a transaction that
 * committed late — is watched by a sweep every pollInterval: it scans only the ids the frontier passed since its last
 * run, looks up the items it saw in someone's hands by id, and hands those that fall due to the next claim.
 * <p>
 * Every database call is bounded (connectTimeout, statementTimeout); a thread that stays stuck anyway is replaced.
 */
@ManagedResource(description = "A pgnotify queue or topic consumer")
public abstract class ClaimingConsumer extends DefaultConsumer
        implements SharedListener.Handler, ConsumerHealthCheck.Monitored, Suspendable {

    private static final Logger LOG = LoggerFactory.getLogger(ClaimingConsumer.class);
    private static final int MAX_ERROR_TEXT = 4000;
    /**
     * The least time between two claims of a thread while messages trickle in: what arrives meanwhile shares the next
     * claim. Each claim is a transaction; one per message cost half of a streaming producer's throughput on two
     * cores. A backlog (a full claim) is claimed again at once.
     */
    private static final long MIN_CLAIM_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * A claim running longer than this (or than half the statement timeout) makes the health check DOWN: claims take
     * milliseconds.
     */
    static final long CLAIM_STALL_MILLIS = 5000;
    /** How long a thread may stay in a call past its bound before it is replaced. */
    static final long STUCK_GRACE_MILLIS = 5000;
    /** At stop: how long threads may take to leave their database calls before those are cut short. */
    private static final long STOP_GRACE_MILLIS = 2000;
    /** At stop: the bound of the last acknowledgements and hand-backs. */
    private static final long STOP_CALL_TIMEOUT_MILLIS = 5000;
    /** Ids the sweep scans in one statement, so that each statement's walk is bounded. */
    static final long SWEEP_CHUNK_IDS = 50_000;
    private static final int SWEEP_MAX_CHUNKS = 20;
    private static final int SWEEP_MAX_ROWS = 10_000;
    /** With listen=false: the first wait after a claim that found nothing; each further one doubles it. */
    private static final long FIRST_IDLE_POLL_MILLIS = 10;
    /** How far past the next sweep an item may fall due and still be handed to a claim at its time by this one. */
    private static final long SWEEP_SLACK_MILLIS = 100;
    /** The items the sweep keeps an eye on below the frontier, at most. */
    static final int MAX_TRACKED = 10_000;
    /** Every this many sweeps, the sweep starts again from the first id: a safety net. */
    static final int FULL_RESCAN_EVERY = 60;
    private static final String CLAIMING = "claiming messages";

    private WakeUpSignal signal;
    /** Claimed and not yet acknowledged, retried or released, by id. */
    private final Map<Long, WorkStore.Item> inFlight = new ConcurrentHashMap<>();
    private final ClaimCursor cursor = new ClaimCursor();
    /** Due items below the frontier, for the next claim to take by id. */
    private final Queue<Long> due = new ConcurrentLinkedQueue<>();
    private final Set<Long> dueSet = ConcurrentHashMap.newKeySet();
    /** How producers of this application wake this consumer (see {@link LocalWakeUps}). */
    private final LocalWakeUps.Sleeper localWakeUp = this::wakeUp;
    /** Due items a claim has taken and not placed yet (in flight, due again or to recheck). */
    private final Set<Long> claiming = ConcurrentHashMap.newKeySet();
    /**
     * What {@link #knownUnfinishedFrom} said at the last sweep, for the claims: no unfinished item lies below it. Only
     * ever too low (the sweep refreshes it), never too high.
     */
    private volatile long unfinishedFrom;
    /** Items handed to a claim at the time they fall due (see {@link #dueSoon}), so that they are so once. */
    private final Set<Long> scheduled = ConcurrentHashMap.newKeySet();
    /** Due items a claim could not take (another consumer had them): for the sweep to keep an eye on. */
    private final Queue<Long> recheck = new ConcurrentLinkedQueue<>();
    /** Items below the frontier the sweep saw in someone's hands; touched by the sweep's thread only. */
    private final Set<Long> tracked = new LinkedHashSet<>();
    private final List<Worker> workerList = new CopyOnWriteArrayList<>();
    /** Replaced threads that have not returned yet. */
    private final List<Worker> replacedStillStuck = new CopyOnWriteArrayList<>();

    private final AtomicInteger failedClaims = new AtomicInteger();
    private final AtomicLong replacedThreads = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong expired = new AtomicLong();
    private volatile Throwable lastClaimFailure;
    private volatile Instant lastClaim;
    private volatile boolean running;
    /** Suspended (paused): claims nothing new; what it holds finishes. */
    private volatile boolean paused;
    private CountDownLatch stopped;
    private volatile Database database;
    private volatile WorkStore store;
    private SharedListener.Subscription subscription;
    private ExecutorService workers;
    private ScheduledExecutorService leases;
    private ScheduledExecutorService sweeper;
    private long sweptUpTo;
    /** Every id below this has been swept at least once since start (the full rescan does not lower it). */
    private long sweptOnceUpTo;
    private int sweeps;

    protected ClaimingConsumer(PgNotifyEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    // ---- what a mode provides

    /**
     * Resolves the mode's tables on this database (creating or verifying them, checking privileges) and returns its
     * work store. Called at start, on the caller's thread.
     */
    protected abstract WorkStore prepare(Database database) throws Exception;

    /** The NOTIFY channel that wakes this consumer (the table's). */
    protected abstract String wakeUpChannel();

    /** The key this consumer's work is filed under in the table, for messages and for local wake-ups. */
    protected abstract String workKey();

    /** mode=queue or mode=topic, for health details. */
    protected abstract String mode();

    /** Sets the headers of an exchange made from a message of an item. */
    protected abstract void populate(Message message, WorkStore.Item item, WorkStore.StoredMessage stored,
                                     Exchange exchange);

    /** Extra details for the health check. */
    protected void reportDetails(HealthCheckResultBuilder result) {
    }

    // ----

    @Override
    public PgNotifyEndpoint getEndpoint() {
        return (PgNotifyEndpoint) super.getEndpoint();
    }

    protected PgNotifyConfiguration configuration() {
        return getEndpoint().getConfiguration();
    }

    protected String channel() {
        return getEndpoint().getChannel();
    }

    /** Whether the wake-up LISTEN connection is up. */
    @ManagedAttribute(description = "Whether the consumer's LISTEN connection is up")
    public boolean isListening() {
        SharedListener.Subscription current = subscription;
        return current != null && current.listener().isListening();
    }

    /** How many claimed items this consumer holds right now. */
    @ManagedAttribute(description = "Claimed items (messages, or topic batches) this consumer holds right now")
    public int getInFlightCount() {
        return inFlight.size();
    }

    /** Messages delivered (exchanges that completed) since start. */
    @ManagedAttribute(description = "Messages delivered (exchanges that completed) since start")
    public long getDeliveredCount() {
        return delivered.get();
    }

    /** Deliveries that failed and were scheduled again since start. */
    @ManagedAttribute(description = "Deliveries that failed and were scheduled again since start")
    public long getRetriedCount() {
        return retried.get();
    }

    /** Messages moved to the dead-letter table since start. */
    @ManagedAttribute(description = "Messages moved to the dead-letter table since start")
    public long getDeadLetteredCount() {
        return deadLettered.get();
    }

    /**
     * Messages not delivered because they expired: mode=queue, their expiry time passed before they were claimed;
     * mode=topic, the log emptied them after the maximum retention.
     */
    @ManagedAttribute(description = "Messages not delivered because they expired (mode=queue: expiry time passed;"
                                    + " mode=topic: the log no longer held them)")
    public long getExpiredCount() {
        return expired.get();
    }

    /** When the last claim succeeded, or null. */
    public Instant getLastClaim() {
        return lastClaim;
    }

    /** Why the last claim failed, while claims fail; null once one succeeds. */
    public Throwable getLastClaimFailure() {
        return failedClaims.get() > 0 ? lastClaimFailure : null;
    }

    @ManagedAttribute(description = "When the last claim succeeded (ISO-8601), empty before the first")
    public String getLastClaimTime() {
        Instant at = lastClaim;
        return at == null ? null : at.toString();
    }

    @ManagedAttribute(description = "Why the last claim failed, while claims fail; empty once one succeeds")
    public String getLastError() {
        Throwable failure = getLastClaimFailure();
        return failure == null ? null : failure.toString();
    }

    @ManagedAttribute(description = "How often the LISTEN connection this consumer shares was re-established")
    public long getReconnects() {
        SharedListener.Subscription current = subscription;
        return current == null ? 0 : current.listener().getReconnects();
    }

    @ManagedAttribute(description = "The channel")
    public String getChannel() {
        return channel();
    }

    @ManagedAttribute(description = "Whether the consumer is paused: it claims nothing new until resumed")
    public boolean isPaused() {
        return paused;
    }

    /**
     * Stops claiming: the exchanges under way finish, the messages claimed but not begun are handed back at once, and
     * nothing new is claimed (other consumers of the channel go on) until {@link #resume()}. The same as Camel's
     * suspend of the consumer or its route.
     */
    @ManagedOperation(description = "Pauses the consumer: exchanges under way finish, claimed messages not begun are"
                                    + " handed back, nothing new is claimed until resumed")
    public void pause() {
        LOG.info("pgnotify:{} ({}) paused: it claims no new messages until resumed", channel(), workKey());
        suspend();
    }

    /** Camel suspends consumers at the start of a graceful shutdown too, so that they take no new work. */
    @Override
    protected void doSuspend() throws Exception {
        paused = true;
    }

    @Override
    protected void doResume() throws Exception {
        paused = false;
        WakeUpSignal current = signal;
        if (current != null) {
            current.wakeAll();
        }
        LOG.info("pgnotify:{} ({}) resumed", channel(), workKey());
    }

    /** The id from which fresh claims scan (see {@link ClaimCursor}). */
    public long getFrontier() {
        return cursor.frontier();
    }

    /**
     * An id below which this consumer knows of no unfinished item: none in its hands, due, or seen by the sweep in
     * another consumer's; 0 when it cannot tell. Lets periodic scans of the work (the lag) skip what is done, which an
     * old snapshot may keep as dead rows. Call on the sweeper's thread.
     */
    protected long knownUnfinishedFrom() {
        if (tracked.size() >= MAX_TRACKED) {
            return 0;
        }
        long from = Math.min(cursor.settled(), sweptOnceUpTo);
        for (Long id : tracked) {
            from = Math.min(from, id);
        }
        // in the order ids move between them (due, then claiming, then in flight or recheck), so that an id moving
        // while they are read is seen in one of them
        for (Long id : dueSet) {
            from = Math.min(from, id);
        }
        for (Long id : claiming) {
            from = Math.min(from, id);
        }
        for (Long id : inFlight.keySet()) {
            from = Math.min(from, id);
        }
        for (Long id : recheck) {
            from = Math.min(from, id);
        }
        return Math.max(0, from);
    }

    protected Database database() {
        return database;
    }

    /** Wakes a thread: there may be work (a cut found messages, say). */
    protected void wakeOne() {
        WakeUpSignal current = signal;
        if (current != null) {
            current.wakeOne();
        }
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        PgNotifyEndpoint endpoint = getEndpoint();
        PgNotifyConfiguration configuration = configuration();
        ExecutorServiceManager executors = endpoint.getCamelContext().getExecutorServiceManager();

        signal = new WakeUpSignal(configuration.getConcurrentConsumers());
        cursor.reset();
        due.clear();
        dueSet.clear();
        scheduled.clear();
        claiming.clear();
        unfinishedFrom = 0;
        recheck.clear();
        tracked.clear();
        sweptUpTo = 0;
        sweptOnceUpTo = 0;
        sweeps = 0;
        failedClaims.set(0);
        lastClaimFailure = null;
        if (configuration.isTransacted()) {
            requireTransactionIntegration();
        }
        database = endpoint.getConnections().acquireDatabase();
        try {
            store = prepare(database);
            // wake-ups are hints: the first claims run anyway, and the LISTEN's arrival triggers another
            if (configuration.isListen()) {
                subscription = endpoint.getComponent().getListeners().subscribe(
                        endpoint.getConnections().listenerKey(), wakeUpChannel(), this, false);
            }
        } catch (Exception e) {
            endpoint.getConnections().releaseDatabase();
            database = null;
            throw e;
        }
        paused = false;
        running = true;
        stopped = new CountDownLatch(1);
        String name = workKey();
        leases = executors.newSingleThreadScheduledExecutor(this, "PgNotifyLeases[" + name + "]");
        long renewEvery = Math.max(50, configuration.getLeaseTime() / 3);
        leases.scheduleWithFixedDelay(this::renewLeases, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        leases.scheduleWithFixedDelay(this::replaceStuckThreads, 1, 1, TimeUnit.SECONDS);
        sweeper = executors.newSingleThreadScheduledExecutor(this, "PgNotifySweeper[" + name + "]");
        sweeper.scheduleWithFixedDelay(this::sweep, configuration.getPollInterval(), configuration.getPollInterval(),
                TimeUnit.MILLISECONDS);
        endpoint.getComponent().getLocalWakeUps().register(wakeUpChannel(), channel(), localWakeUp);
        int threads = configuration.getConcurrentConsumers();
        workers = executors.newCachedThreadPool(this, threadName());
        for (int i = 0; i < threads; i++) {
            startWorker();
        }
        endpoint.installHealthCheck(this, this);
    }

    private void requireTransactionIntegration() {
        PgNotifyConfiguration configuration = configuration();
        String missing = null;
        if (configuration.getTransactions() == null) {
            missing = "a transaction integration (option transactions: a PgNotifyTransactions bean)";
        } else if (getEndpoint().joinableDataSource() == null) {
            missing = "the application's DataSource (option dataSource)";
        }
        if (missing != null) {
            throw new IllegalStateException("pgnotify:" + channel() + ": transacted=true needs " + missing
                                            + (configuration.getJdbcUrl() != null
                                                    ? "; jdbcUrl is set, and a pool of pgnotify's own cannot join the"
                                                      + " application's transactions"
                                                    : "")
                                            + ". The camel-pgnotify-spring-boot-starter provides both in Spring Boot.");
        }
    }

    /** The name of the consumer's threads (Camel adds its own prefix and number). */
    protected abstract String threadName();

    /** The sweeper's executor, for a mode's own periodic work. */
    protected ScheduledExecutorService sweeper() {
        return sweeper;
    }

    private void startWorker() {
        Worker worker = new Worker();
        workerList.add(worker);
        workers.execute(worker);
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        ExecutorServiceManager executors = getEndpoint().getCamelContext().getExecutorServiceManager();
        if (store != null) {
            getEndpoint().getComponent().getLocalWakeUps().unregister(wakeUpChannel(), channel(), localWakeUp);
        }
        if (subscription != null) {
            subscription.cancel();
            subscription = null;
        }
        if (stopped != null) {
            stopped.countDown();
        }
        if (signal != null) {
            signal.wakeAll();
        }
        // no new sweeps or maintenance (periodic tasks end at shutdown); one under way finishes (below) rather than
        // having its connection closed under it, which the pool would log as a broken connection
        if (sweeper != null) {
            sweeper.shutdown();
        }
        if (workers != null) {
            // each worker finishes the exchange in hand, hands back the rest of its claim and acknowledges; a claim
            // or acknowledgement blocked on a dead connection is cut short after a moment rather than at its bound
            workers.shutdown();
            if (!workers.awaitTermination(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS) && database != null) {
                database.watchdog().abortCallsOf(this);
            }
            // the last acknowledgements are bounded too; an exchange still in the route is given Camel's own bound
            workers.awaitTermination(STOP_CALL_TIMEOUT_MILLIS + STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS);
            executors.shutdownGraceful(workers);
            workers = null;
        }
        workerList.clear();
        replacedStillStuck.clear();
        awaitQuietly(sweeper);
        if (database != null) {
            database.watchdog().abortCallsOf(this);
        }
        if (sweeper != null) {
            executors.shutdownNow(sweeper);
            sweeper = null;
        }
        if (leases != null) {
            executors.shutdownNow(leases);
            leases = null;
        }
        inFlight.clear();
        if (database != null) {
            database = null;
            getEndpoint().getConnections().releaseDatabase();
        }
        super.doStop();
    }

    private static void awaitQuietly(ExecutorService executor) throws InterruptedException {
        if (executor != null) {
            executor.awaitTermination(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void onListening() {
        // first LISTEN or a reconnect: whatever arrived meanwhile is due
        WakeUpSignal current = signal;
        if (current != null) {
            current.wakeAll();
        }
    }

    /**
     * A wake-up's payload is the channel, followed by a space and the id of the sending component when a pgnotify
     * producer sent it ("-" from the table's trigger), and by a space and a number of milliseconds when the messages
     * fall due that much later. A wake-up from this consumer's own component has already been delivered directly.
     */
    @Override
    public void onNotification(PGNotification notification) {
        String[] parts = notification.getParameter().split(" ", 3);
        if (!channel().equals(parts[0])
            || parts.length > 1 && parts[1].equals(getEndpoint().getComponent().getLocalWakeUps().id())) {
            return;
        }
        long delay = 0;
        if (parts.length > 2) {
            try {
                delay = Long.parseLong(parts[2]);
            } catch (NumberFormatException e) {
                LOG.debug("Ignoring the delay of a wake-up with payload '{}'", notification.getParameter());
            }
        }
        wakeUp(delay);
    }

    /** Claims now, or when messages fall due that many milliseconds from now. */
    private void wakeUp(long delayMillis) {
        if (delayMillis > 0) {
            wakeUpIn(delayMillis);
        } else {
            signal.wakeOne();
        }
    }

    private void addDue(long id) {
        if (dueSet.add(id)) {
            due.add(id);
        }
    }

    private Long[] takeDue(int max) {
        List<Long> taken = new ArrayList<>();
        Long id;
        while (taken.size() < max && (id = due.poll()) != null) {
            // in claiming before it leaves dueSet: knownUnfinishedFrom, reading dueSet first, sees it in one of them
            claiming.add(id);
            dueSet.remove(id);
            taken.add(id);
        }
        return taken.toArray(new Long[0]);
    }

    /** What became of a claimed item. */
    private enum Outcome {
        /** Every message processed: acknowledge it. */
        DONE,
        /** Settled otherwise: retried later or dead-lettered (a single message). */
        SETTLED,
        /** The consumer is stopping: hand it back with its progress. */
        STOPPED,
        /** Bookkeeping failed: left to its lease, which runs out. */
        LEFT
    }

    private final class Worker implements Runnable {

        /** This run's resources, kept by the thread even if the consumer stops while it finishes. */
        private final Database database = ClaimingConsumer.this.database;
        private final WorkStore store = ClaimingConsumer.this.store;
        private final List<WorkStore.Item> acknowledgements = new ArrayList<>();
        private final boolean transacted = configuration().isTransacted();
        /** Claimed and not yet finished by this thread, to drop if it is replaced. */
        private final Set<Long> held = ConcurrentHashMap.newKeySet();
        private long lastClaimNanos = System.nanoTime() - MIN_CLAIM_INTERVAL_NANOS;
        private boolean lastClaimFull;
        private boolean woken = true;
        /** With listen=false: how long to wait after the next claim that finds nothing. */
        private long idlePollWait = FIRST_IDLE_POLL_MILLIS;
        private volatile boolean abandoned;
        private volatile boolean exited;
        private volatile String callWhat;
        private volatile long callStartedNanos;

        @Override
        public void run() {
            while (running && !abandoned) {
                if (paused) {
                    awaitResume();
                    continue;
                }
                if (!lastClaimFull) {
                    lingerAfterLastClaim();
                }
                List<WorkStore.Item> claimed;
                if (!woken && !lastClaimFull && signal.tryTake()) {
                    // a wake-up came while this thread was processing: this claim answers it (mode=topic cuts first),
                    // rather than a claim that finds nothing followed by another once the thread goes idle (after a
                    // full claim the wake-up is another thread's, to help with the backlog)
                    woken = true;
                }
                try {
                    lastClaimNanos = System.nanoTime();
                    boolean answersWakeUp = woken;
                    woken = false;
                    claimed = acknowledgeAndClaim(answersWakeUp);
                    claimSucceeded();
                } catch (Exception | Error e) {
                    // an Error too (a body too large for the heap, say): the thread must live on, and the message
                    // ends in the dead-letter table after its attempts, claimed without its body
                    if (!running || abandoned) {
                        LOG.debug("A claim of {} ended with the consumer's stop", workKey(), e);
                        break;
                    }
                    claimFailed(e);
                    woken = true;
                    continue;
                }
                if (abandoned) {
                    break;
                }
                if (claimed.isEmpty()) {
                    awaitWakeUp();
                    continue;
                }
                idlePollWait = FIRST_IDLE_POLL_MILLIS;
                if (lastClaimFull) {
                    // there is probably more: a second thread helps
                    signal.wakeOne();
                }
                processAll(claimed);
            }
            if (!abandoned) {
                flushAcknowledgements();
            }
            workerList.remove(this);
            exited = true;
        }

        private <T> T call(String what, long timeoutMillis, Database.Work<T> work) throws SQLException {
            callWhat = what;
            callStartedNanos = System.nanoTime();
            try {
                return database.call(ClaimingConsumer.this, what, timeoutMillis, work);
            } finally {
                callWhat = null;
            }
        }

        /** How long this thread has been in its current database call, or -1 when it is in none. */
        long millisInCall() {
            return callWhat == null ? -1 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - callStartedNanos);
        }

        void abandon() {
            abandoned = true;
            // its claims are no longer renewed: they are delivered again once their leases run out
            held.forEach(inFlight::remove);
        }

        private void processAll(List<WorkStore.Item> claimed) {
            for (int i = 0; i < claimed.size(); i++) {
                if (abandoned) {
                    return;
                }
                if (!running || paused) {
                    // stopping or paused (Camel suspends consumers at the start of a graceful shutdown): the rest of
                    // the claim goes back at once, for other consumers, rather than when its leases run out
                    release(claimed.subList(i, claimed.size()));
                    return;
                }
                WorkStore.Item item = claimed.get(i);
                switch (processItem(item)) {
                    case DONE -> acknowledgements.add(item);
                    case STOPPED -> {
                        // handed back with its progress, so that the next consumer resumes after what is done
                        release(claimed.subList(i, claimed.size()));
                        return;
                    }
                    case SETTLED, LEFT -> {
                        // settled by a retry or dead-lettering, or left to its lease after bookkeeping failed
                    }
                }
            }
        }

        /** Processes the item's messages in order, from its progress on. */
        private Outcome processItem(WorkStore.Item item) {
            int maxAttempts = configuration().getMaxAttempts();
            List<WorkStore.StoredMessage> messages = item.messages();
            int from = item.progress();
            if (item.attempt() > maxAttempts && from < messages.size()) {
                // delivered that often without ever completing (its consumer died, or could not even read it): the
                // message it was at goes to the dead-letter table, claimed without its body
                String error = "Gave up after " + maxAttempts
                               + " deliveries that never completed (its consumer died, or could not even read it)";
                if (!moveToDeadLetter(item, messages.get(from), error)) {
                    return Outcome.LEFT;
                }
                if (item.single()) {
                    return Outcome.SETTLED;
                }
                from++;
                item.progress(from);
            }
            // keys whose failed message left this batch to be retried: their later messages follow it out
            Set<String> heldKeys = new HashSet<>();
            for (int i = from; i < messages.size(); i++) {
                if (!running || abandoned) {
                    return Outcome.STOPPED;
                }
                WorkStore.StoredMessage message = messages.get(i);
                if (!message.loaded()) {
                    if (!load(item, i)) {
                        return Outcome.LEFT;
                    }
                    message = messages.get(i);
                }
                if (message.key() != null && heldKeys.contains(message.key())) {
                    if (!splitOutFollower(item, message)) {
                        return Outcome.LEFT;
                    }
                    messages.set(i, WorkStore.StoredMessage.unloaded(message.id()));
                    item.progress(i + 1);
                    continue;
                }
                if (message.isExpired()) {
                    expired.incrementAndGet();
                    LOG.warn("Message {} of {} is no longer in the log: it was emptied after the maximum retention"
                             + " before it was processed; skipping it", message.id(), workKey());
                    item.progress(i + 1);
                    continue;
                }
                if (message.outlived()) {
                    return settleOutlived(item, message);
                }
                if (transacted) {
                    // mode=queue: an item is one message
                    return processInTransaction(item, message);
                }
                Exception failure = process(item, message, false);
                if (failure == null) {
                    delivered.incrementAndGet();
                } else if (item.single()) {
                    return retryOrDeadLetter(item, message, failure);
                } else if (!splitOut(item, message, failure)) {
                    return Outcome.LEFT;
                } else if (message.key() != null && configuration().getMaxAttempts() > 1) {
                    heldKeys.add(message.key());
                }
                if (!item.single()) {
                    // a batch's bodies are only held until processed
                    messages.set(i, WorkStore.StoredMessage.unloaded(message.id()));
                }
                item.progress(i + 1);
            }
            return Outcome.DONE;
        }

        /**
         * A message whose expiry time passed before it was claimed is not delivered: it goes to the dead-letter table
         * with the reason, or (expiredMessages=drop) is acknowledged as if done.
         */
        private Outcome settleOutlived(WorkStore.Item item, WorkStore.StoredMessage message) {
            expired.incrementAndGet();
            if (configuration().isDropExpired()) {
                LOG.debug("Message {} of {} expired before it was delivered; dropped", message.id(), workKey());
                return Outcome.DONE;
            }
            return moveToDeadLetter(item, message, "Expired before it was delivered (its expiry time, from "
                                                   + PgNotifyConstants.EXPIRES_AT + " or timeToLive, had passed)")
                    ? Outcome.SETTLED : Outcome.LEFT;
        }

        private Outcome retryOrDeadLetter(WorkStore.Item item, WorkStore.StoredMessage message, Exception failure) {
            if (item.attempt() >= configuration().getMaxAttempts()) {
                return moveToDeadLetter(item, message, errorText(failure)) ? Outcome.SETTLED : Outcome.LEFT;
            }
            return retryLater(item, failure) ? Outcome.SETTLED : Outcome.LEFT;
        }

        /**
         * transacted=true: the exchange and the message's acknowledgement in one transaction on the application's
         * DataSource, which the route's own JDBC work joins. The claim that counted this delivery committed before, on
         * its own, so a rollback cannot undo the count: a message that always fails still reaches the dead-letter
         * table after maxAttempts. The acknowledgement comes last, so that the row is locked only for the commit.
         */
        private Outcome processInTransaction(WorkStore.Item item, WorkStore.StoredMessage message) {
            PgNotifyTransactions transactions = configuration().getTransactions();
            DataSource dataSource = getEndpoint().joinableDataSource();
            Exception failure;
            try {
                WorkStore.InTransaction done = transactions.inTransaction(dataSource, () -> {
                    Exception routeFailure = process(item, message, true);
                    if (routeFailure != null) {
                        throw new RouteFailed(routeFailure);
                    }
                    WorkStore.InTransaction acknowledged = acknowledgeInTransaction(transactions, dataSource, item);
                    if (!acknowledged.acknowledged()) {
                        throw new LeaseLost();
                    }
                    return acknowledged;
                });
                delivered.incrementAndGet();
                finished(item);
                if (done.next() != null) {
                    // per-key order: committed, so the next message of its key may go now
                    addDue(done.next());
                    signal.wakeOne();
                }
                return Outcome.SETTLED;
            } catch (LeaseLost e) {
                LOG.warn("Message {} of {} was claimed again before its transaction committed (its lease of {} ms ran"
                         + " out without a renewal getting through); the transaction rolled back and the message is"
                         + " processed by its new claim",
                        message.id(), workKey(), configuration().getLeaseTime());
                finished(item);
                return Outcome.SETTLED;
            } catch (RouteFailed e) {
                failure = (Exception) e.getCause();
            } catch (Exception e) {
                // the transaction could not begin or commit: rolled back, or its outcome unknown; a retry is fenced by
                // the delivery count, so it does nothing if the commit went through after all
                failure = e;
            }
            return retryOrDeadLetter(item, message, failure);
        }

        private WorkStore.InTransaction acknowledgeInTransaction(PgNotifyTransactions transactions,
                                                                 DataSource dataSource, WorkStore.Item item)
                throws SQLException {
            Connection connection = transactions.transactionConnection(dataSource);
            if (connection == null) {
                throw new IllegalStateException("The transactions integration " + transactions.getClass().getName()
                                                + " began no transaction on the dataSource");
            }
            try {
                return database.callOn(connection, ClaimingConsumer.this, "acknowledging a message in its transaction",
                        joined -> store.acknowledgeInTransaction(joined, item));
            } finally {
                transactions.release(connection, dataSource);
            }
        }

        private boolean load(WorkStore.Item item, int from) {
            try {
                List<WorkStore.StoredMessage> loaded = call("loading messages", database.statementTimeoutMillis(),
                        connection -> store.load(connection, item, from, configuration().getMaxBytesPerPoll()));
                for (int j = 0; j < loaded.size(); j++) {
                    item.messages().set(from + j, loaded.get(j));
                }
                return !loaded.isEmpty();
            } catch (Exception e) {
                logBookkeepingFailure("Could not load the messages of item " + item.id()
                                      + "; it is delivered again when its lease runs out",
                        e);
                return false;
            }
        }

        private List<WorkStore.Item> acknowledgeAndClaim(boolean answersWakeUp) throws SQLException {
            PgNotifyConfiguration configuration = configuration();
            int batch = configuration.getMaxMessagesPerPoll();
            long startedAt = cursor.claimStarting();
            long frontier = cursor.frontier();
            Long[] dueIds = takeDue(batch);
            WorkStore.ClaimRequest request = new WorkStore.ClaimRequest(List.copyOf(acknowledgements), dueIds,
                    frontier, batch, configuration.getMaxBytesPerPoll(), configuration.getLeaseTime(),
                    configuration.getMaxAttempts(), answersWakeUp, unfinishedFrom);
            WorkStore.Claim claim;
            try {
                claim = call(CLAIMING, database.statementTimeoutMillis(), connection -> store.claim(connection, request));
            } catch (SQLException | RuntimeException e) {
                // for the sweep to find again, and accounted for meanwhile (see knownUnfinishedFrom)
                recheck.addAll(List.of(dueIds));
                claiming.removeAll(List.of(dueIds));
                throw e;
            }
            for (WorkStore.Item item : acknowledgements) {
                inFlight.remove(item.id());
                held.remove(item.id());
            }
            acknowledgements.clear();
            Set<Long> claimedIds = new HashSet<>();
            for (WorkStore.Item item : claim.items()) {
                inFlight.put(item.id(), item);
                held.add(item.id());
                claimedIds.add(item.id());
            }
            for (Long id : dueIds) {
                if (!claimedIds.contains(id)) {
                    if (!claim.items().isEmpty()) {
                        // the claim's budget was reached first (a batch of messages, or of bytes): next claim
                        addDue(id);
                    } else {
                        // not claimable now: in another consumer's hands, or gone
                        recheck.add(id);
                    }
                }
            }
            // each taken id is now in hand, due again or for the sweep to recheck
            claiming.removeAll(List.of(dueIds));
            boolean examinedAll = claim.freshCandidates() < batch && claim.freshClaimed() == claim.freshCandidates();
            cursor.claimed(new ClaimCursor.Outcome(startedAt, frontier, ClaimCursor.Snapshot.parse(claim.snapshot()),
                    claim.claimXid(), claim.lastId(), examinedAll, Math.max(frontier, claim.lastFreshClaimed())));
            lastClaimFull = claim.items().size() >= batch || !examinedAll || !due.isEmpty();
            return claim.items();
        }

        /**
         * Runs the exchange; returns why it failed, or null. In a transaction, an exchange the route marked rollback
         * only failed too, as a transacted route's would.
         */
        private Exception process(WorkStore.Item item, WorkStore.StoredMessage stored, boolean inTransaction) {
            Exchange exchange = createExchange(false);
            if (inTransaction) {
                // Camel then keeps the exchange on this thread, the transaction's
                exchange.getExchangeExtension().setTransacted(true);
            }
            try {
                Message in = exchange.getMessage();
                populate(in, item, stored, exchange);
                // Camel's own identity of a message, as camel-jms sets it: an idempotentConsumer (a
                // JdbcMessageIdRepository in a transacted route, say) keys on it without an expression
                in.setMessageId(Long.toString(stored.id()));
                in.setHeader(Exchange.MESSAGE_TIMESTAMP, stored.createdAt().getTime());
                in.setBody(stored.body());
                getProcessor().process(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            } catch (Error e) {
                exchange.setException(new CamelExchangeException("The route threw " + e, exchange, e));
            }
            Exception failure = exchange.getException();
            if (failure == null && inTransaction && (exchange.isRollbackOnly() || exchange.isRollbackOnlyLast())) {
                failure = new RollbackExchangeException("The route marked the exchange rollback only", exchange);
            }
            releaseExchange(exchange, false);
            return failure;
        }

        private boolean retryLater(WorkStore.Item item, Exception failure) {
            long delay = retryDelay(item.attempt());
            LOG.warn("Message {} of {} failed on delivery {} of {}; delivering it again in {} ms: {}",
                    item.messages().get(0).id(), workKey(), item.attempt(), configuration().getMaxAttempts(), delay,
                    failure.toString());
            try {
                call("scheduling a retry", database.statementTimeoutMillis(), connection -> {
                    store.retry(connection, item, delay, errorText(failure));
                    return null;
                });
                retried.incrementAndGet();
                finished(item);
                // its wake-up: nothing notifies when a retry falls due, and it lies below the frontier
                scheduleDue(item.id(), delay);
                return true;
            } catch (Exception e) {
                logBookkeepingFailure("Could not schedule the retry of message " + item.messages().get(0).id()
                                      + "; it is delivered again when its lease runs out",
                        e);
                return false;
            }
        }

        /** Takes a failed message out of a batch into an item of its own, retried after its backoff. */
        private boolean splitOut(WorkStore.Item item, WorkStore.StoredMessage message, Exception failure) {
            int maxAttempts = configuration().getMaxAttempts();
            if (maxAttempts <= 1) {
                return moveToDeadLetter(item, message, errorText(failure));
            }
            long delay = retryDelay(1);
            LOG.warn("Message {} of {} failed on delivery 1 of {}; delivering it again in {} ms: {}", message.id(),
                    workKey(), maxAttempts, delay, failure.toString());
            try {
                long retry = call("scheduling a retry", database.statementTimeoutMillis(),
                        connection -> store.splitOut(connection, item, message, delay, errorText(failure)));
                retried.incrementAndGet();
                scheduleDue(retry, delay);
                return true;
            } catch (Exception e) {
                logBookkeepingFailure("Could not schedule the retry of message " + message.id()
                                      + "; its batch is delivered again when its lease runs out",
                        e);
                return false;
            }
        }

        /**
         * Per-key order: a keyed message after a failed one of its key in the same batch leaves the batch too, to wait
         * for the failed one's retry in the batch's place.
         */
        private boolean splitOutFollower(WorkStore.Item item, WorkStore.StoredMessage message) {
            try {
                long follower = call("holding back a message behind its key's retry", database.statementTimeoutMillis(),
                        connection -> store.splitOut(connection, item, message, 0, null));
                LOG.debug("Message {} of {} waits for the retry of an earlier message of its key (item {})",
                        message.id(), workKey(), follower);
                return true;
            } catch (Exception e) {
                logBookkeepingFailure("Could not hold back message " + message.id() + " behind its key's retry; its"
                                      + " batch is delivered again when its lease runs out",
                        e);
                return false;
            }
        }

        /** Moves a message to the dead-letter table; returns whether it worked. */
        private boolean moveToDeadLetter(WorkStore.Item item, WorkStore.StoredMessage message, String error) {
            LOG.warn("Message {} of {} moves to the dead-letter table after {} deliveries: {}", message.id(), workKey(),
                    item.attempt(), error);
            try {
                Long madeClaimable = call("moving a message to the dead-letter table",
                        database.statementTimeoutMillis(), connection -> store.deadLetter(connection, item, message,
                                error));
                deadLettered.incrementAndGet();
                if (madeClaimable != null) {
                    // per-key order: the next message of its key goes now, rather than when the sweep finds it
                    addDue(madeClaimable);
                    signal.wakeOne();
                }
                if (item.single()) {
                    finished(item);
                }
                return true;
            } catch (Exception e) {
                logBookkeepingFailure("Could not move message " + message.id()
                                      + " to the dead-letter table; it is delivered again when its lease runs out",
                        e);
                return false;
            }
        }

        private void finished(WorkStore.Item item) {
            inFlight.remove(item.id());
            held.remove(item.id());
        }

        /** Hands claimed but unprocessed items back at once, instead of when their lease runs out. */
        private void release(List<WorkStore.Item> unprocessed) {
            try {
                call("handing back claimed messages", STOP_CALL_TIMEOUT_MILLIS, connection -> {
                    store.release(connection, unprocessed);
                    return null;
                });
            } catch (Exception e) {
                LOG.debug("Could not hand back {} claimed item(s); they are delivered again when their lease runs out",
                        unprocessed.size(), e);
            }
            unprocessed.forEach(this::finished);
        }

        private void flushAcknowledgements() {
            if (acknowledgements.isEmpty()) {
                return;
            }
            try {
                call("acknowledging messages", Math.min(STOP_CALL_TIMEOUT_MILLIS, database.statementTimeoutMillis()),
                        connection -> {
                            store.acknowledge(connection, acknowledgements);
                            return null;
                        });
            } catch (Exception e) {
                LOG.info("Could not acknowledge {} processed item(s) of {} while stopping; they will be delivered"
                         + " again: {}",
                        acknowledgements.size(), workKey(), e.getMessage());
            }
            acknowledgements.forEach(this::finished);
            acknowledgements.clear();
        }

        private void logBookkeepingFailure(String message, Exception e) {
            if (running && !abandoned) {
                LOG.warn("{} ({}): {}", message, workKey(), e.getMessage());
            } else {
                LOG.debug("{} ({})", message, workKey(), e);
            }
        }

        private void lingerAfterLastClaim() {
            long wait = lastClaimNanos + MIN_CLAIM_INTERVAL_NANOS - System.nanoTime();
            if (wait > 0) {
                pause(wait);
            }
        }

        private void awaitResume() {
            try {
                signal.await(configuration().getPollInterval());
                // once resumed, claim at once: wake-ups that came meanwhile were not answered
                woken = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }

        private void awaitWakeUp() {
            try {
                if (!due.isEmpty()) {
                    return;
                }
                long wait = configuration().getPollInterval();
                if (!configuration().isListen()) {
                    // polling instead of LISTEN: soon after work, less and less often while there is none
                    wait = Math.min(wait, idlePollWait);
                    idlePollWait = Math.min(configuration().getPollInterval(), idlePollWait * 2);
                }
                signal.await(wait);
                woken = true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void scheduleDue(long itemId, long delayMillis) {
        ScheduledExecutorService scheduler = leases;
        if (scheduler != null && running) {
            try {
                scheduler.schedule(() -> {
                    scheduled.remove(itemId);
                    addDue(itemId);
                    signal.wakeOne();
                }, delayMillis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // stopping
                scheduled.remove(itemId);
            }
        }
    }

    private void claimSucceeded() {
        lastClaim = Instant.now();
        if (failedClaims.getAndSet(0) > 0) {
            LOG.info("Claiming messages of {} works again", workKey());
        }
    }

    private void claimFailed(Throwable e) {
        lastClaimFailure = e;
        int failures = failedClaims.incrementAndGet();
        long delay = Math.min(configuration().getMaxReconnectDelay(),
                configuration().getReconnectDelay() << Math.min(failures - 1, 20));
        if (failures == 1) {
            getExceptionHandler().handleException("Cannot claim messages of " + workKey() + "; trying again in "
                                                  + delay + " ms",
                    e);
        } else {
            LOG.debug("Claim attempt {} of {} failed", failures, workKey(), e);
        }
        pause(TimeUnit.MILLISECONDS.toNanos(delay));
    }

    /** Waits that long, or until the consumer stops. */
    private void pause(long nanos) {
        try {
            stopped.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /** The delay before the next delivery of a message whose delivery {@code attempt} failed. */
    public long retryDelay(int attempt) {
        PgNotifyConfiguration configuration = configuration();
        double delay = configuration.getRetryDelay() * Math.pow(configuration.getRetryMultiplier(), attempt - 1);
        return (long) Math.min(configuration.getMaxRetryDelay(), delay);
    }

    /**
     * Renews the leases of the items in hand. Bounded by a quarter of the lease, and tried again at once on a new
     * connection when it fails, so that one dead connection does not let the leases run out.
     */
    private void renewLeases() {
        Database current = this.database;
        WorkStore work = this.store;
        if (inFlight.isEmpty() || !running || current == null) {
            return;
        }
        long timeout = Math.min(current.statementTimeoutMillis(), Math.max(100, configuration().getLeaseTime() / 4));
        for (int attempt = 1; attempt <= 2 && running; attempt++) {
            List<WorkStore.Lease> leased = inFlight.values().stream()
                    .map(item -> new WorkStore.Lease(item.id(), item.attempt(), item.progress())).toList();
            try {
                current.call(this, "renewing leases", timeout, connection -> {
                    work.renew(connection, leased, configuration().getLeaseTime());
                    return null;
                });
                return;
            } catch (Exception e) {
                if (running) {
                    LOG.warn("Could not renew the leases of {} item(s) of {} (attempt {}): {}", leased.size(),
                            workKey(), attempt, e.getMessage());
                }
            }
        }
    }

    /**
     * Watches below the frontier (see the class comment): scans the ids the frontier passed since the last sweep (and
     * the unsettled ones again), looks up by id the items seen in someone's hands, and hands the due ones to the next
     * claim.
     */
    private void sweep() {
        Database current = this.database;
        WorkStore work = this.store;
        if (!running || current == null) {
            return;
        }
        try {
            if (++sweeps % FULL_RESCAN_EVERY == 0) {
                // a safety net for rows no rule foresaw (an id set by hand, say): walk everything again, in chunks
                sweptUpTo = 0;
            }
            long frontier = cursor.frontier();
            long from = Math.min(sweptUpTo, cursor.settled());
            int chunks = 0;
            boolean found = false;
            while (from < frontier && chunks++ < SWEEP_MAX_CHUNKS && running) {
                long to = Math.min(frontier, from + SWEEP_CHUNK_IDS);
                long scanFrom = from;
                List<long[]> live = current.call(this, "sweeping below the frontier",
                        connection -> work.liveInRange(connection, scanFrom, to, SWEEP_MAX_ROWS));
                for (long[] row : live) {
                    if (row[1] <= 0 && !inFlight.containsKey(row[0])) {
                        addDue(row[0]);
                        found = true;
                    } else {
                        dueSoon(row[0], row[1]);
                        if (tracked.size() < MAX_TRACKED) {
                            tracked.add(row[0]);
                        }
                    }
                }
                from = live.size() >= SWEEP_MAX_ROWS ? live.get(live.size() - 1)[0] : to;
                sweptUpTo = Math.max(sweptUpTo, from);
                sweptOnceUpTo = Math.max(sweptOnceUpTo, sweptUpTo);
            }
            Long recheckId;
            while (tracked.size() < MAX_TRACKED && (recheckId = recheck.poll()) != null) {
                tracked.add(recheckId);
            }
            found |= checkTracked(current, work);
            unfinishedFrom = knownUnfinishedFrom();
            current.call(this, "refreshing what the sweep knows", connection -> {
                work.refresh(connection);
                return null;
            });
            if (found) {
                signal.wakeOne();
            }
        } catch (Exception e) {
            if (running) {
                LOG.debug("The sweep of {} failed; it runs again in {} ms", workKey(),
                        configuration().getPollInterval(), e);
            }
        }
    }

    /** Looks up the tracked items by id: gone ones are forgotten, due ones go to the next claim. */
    private boolean checkTracked(Database current, WorkStore work) throws SQLException {
        if (tracked.isEmpty()) {
            return false;
        }
        Long[] ids = tracked.toArray(new Long[0]);
        Map<Long, Long> live = current.call(this, "looking up messages below the frontier",
                connection -> work.liveAmong(connection, ids));
        tracked.retainAll(live.keySet());
        boolean anyDue = false;
        for (Map.Entry<Long, Long> row : live.entrySet()) {
            if (row.getValue() <= 0 && !inFlight.containsKey(row.getKey())) {
                addDue(row.getKey());
                anyDue = true;
            } else {
                dueSoon(row.getKey(), row.getValue());
            }
        }
        return anyDue;
    }

    /**
     * An item below the frontier that falls due before the next sweep (a delayed message, a retry of another
     * consumer's, a lease running out) is handed to a claim at its time, rather than up to a poll interval late.
     */
    private void dueSoon(long itemId, long dueInMillis) {
        if (dueInMillis > 0 && dueInMillis <= configuration().getPollInterval() + SWEEP_SLACK_MILLIS
            && !inFlight.containsKey(itemId) && scheduled.add(itemId)) {
            scheduleDue(itemId, dueInMillis);
        }
    }

    /**
     * Something falls due in that many milliseconds that this consumer may not see in time (a delayed message, as a
     * producer's wake-up says): claim then, and sweep, for it may lie above or below the frontier.
     */
    private void wakeUpIn(long delayMillis) {
        ScheduledExecutorService scheduler = leases;
        if (scheduler != null && running) {
            try {
                scheduler.schedule(() -> {
                    signal.wakeOne();
                    ScheduledExecutorService sweeping = sweeper;
                    if (sweeping != null && running) {
                        sweeping.execute(this::sweep);
                    }
                }, delayMillis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // stopping
            }
        }
    }

    /**
     * A thread still in a database call well past its bound (the watchdog closed its connection or interrupted it, and
     * it did not return) is abandoned and replaced by a new one.
     */
    private void replaceStuckThreads() {
        if (!running) {
            return;
        }
        long bound = configuration().getConnectTimeout() + configuration().getStatementTimeout() + STUCK_GRACE_MILLIS;
        replacedStillStuck.removeIf(worker -> worker.exited);
        for (Worker worker : workerList) {
            long inCall = worker.millisInCall();
            if (inCall > bound && !worker.abandoned) {
                if (replacedStillStuck.size() >= configuration().getConcurrentConsumers()) {
                    // as many threads stuck as the consumer has: more would only leak threads while the fault lasts
                    LOG.debug("pgnotify:{}: not replacing another stuck thread while {} replaced ones are still stuck",
                            channel(), replacedStillStuck.size());
                    return;
                }
                LOG.warn("pgnotify:{}: a consumer thread has been stuck for {} ms in {} (bound {} ms) although the"
                         + " watchdog closed its connection or interrupted it; replacing it with a new thread",
                        channel(), inCall, worker.callWhat, bound);
                worker.abandon();
                workerList.remove(worker);
                replacedStillStuck.add(worker);
                replacedThreads.incrementAndGet();
                startWorker();
            }
        }
    }

    @Override
    public void reportHealth(HealthCheckResultBuilder result) {
        SharedListener.Subscription current = subscription;
        result.detail("mode", mode()).detail("inFlight", inFlight.size()).detail("threads", workerList.size())
                .detail("paused", paused)
                .detail("delivered", delivered.get()).detail("retried", retried.get())
                .detail("deadLettered", deadLettered.get());
        Instant claimedAt = lastClaim;
        if (claimedAt != null) {
            result.detail("lastClaim", claimedAt.toString());
        }
        if (replacedThreads.get() > 0) {
            result.detail("replacedThreads", replacedThreads.get());
        }
        if (expired.get() > 0) {
            result.detail("expired", expired.get());
        }
        Throwable claimFailure = lastClaimFailure;
        if (claimFailure != null) {
            result.detail("lastError", String.valueOf(claimFailure.getMessage()));
        }
        reportDetails(result);
        if (!running || current == null && configuration().isListen()) {
            result.down().message("pgnotify:" + channel() + " is not started");
            return;
        }
        SharedListener listener = current != null ? current.listener() : null;
        if (listener != null) {
            result.detail("database", listener.key().toString()).detail("reconnects", listener.getReconnects())
                    .detail("listening", listener.isListening());
        } else {
            result.detail("listening", false).detail("polling", true);
        }
        long slowest = workerList.stream().filter(w -> CLAIMING.equals(w.callWhat))
                .mapToLong(Worker::millisInCall).max().orElse(-1);
        if (failedClaims.get() > 0) {
            result.down().message("pgnotify:" + channel() + " cannot claim messages (" + failedClaims.get()
                                  + " failed attempt(s) in a row) and keeps trying");
            if (claimFailure != null) {
                result.error(claimFailure);
            }
        } else if (slowest > Math.min(CLAIM_STALL_MILLIS, configuration().getStatementTimeout() / 2)) {
            result.down().message("pgnotify:" + channel() + ": a claim has been running for " + slowest
                                  + " ms (claims take milliseconds): the database does not answer");
        } else if (listener == null) {
            result.up();
        } else if (!listener.isListening()) {
            result.down().message("pgnotify:" + channel() + " has lost its LISTEN connection and is reconnecting");
            if (listener.getLastFailure() != null) {
                result.error(listener.getLastFailure());
            }
        } else if (!listener.isResponsive()) {
            result.down().message("pgnotify:" + channel()
                                  + ": its LISTEN connection has not answered for a while; checking it");
        } else {
            result.up();
        }
    }

    protected static String errorText(Throwable failure) {
        StringBuilder text = new StringBuilder(failure.toString());
        Throwable cause = failure.getCause();
        for (int depth = 0; cause != null && depth < 10; depth++, cause = cause.getCause()) {
            text.append("; caused by: ").append(cause);
        }
        return text.length() > MAX_ERROR_TEXT ? text.substring(0, MAX_ERROR_TEXT) : text.toString();
    }

    /** The route failed inside a transacted delivery: rolls the transaction back. */
    private static final class RouteFailed extends Exception {
        RouteFailed(Exception cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /** The message was claimed again by the time its acknowledgement ran: rolls the transaction back. */
    private static final class LeaseLost extends Exception {
        LeaseLost() {
            super("claimed again", null, false, false);
        }
    }
}
