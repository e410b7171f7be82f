package dev.pgnotify.camel.claim;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.admin.ConsumerHealthCheck;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.listen.LocalWakeUps;
import dev.pgnotify.camel.listen.SharedListener;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
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
 * A consumer that leases work from a table ({@link WorkStore}): mode=queue's messages, and mode=topic's batches of a
 * group. Its parts, each in a class of its own:
 * <ul>
 * <li>{@link Worker}s (concurrentConsumers threads) claim due items, acknowledging what they finished in the same
 * round trip, and deliver them ({@link Delivery}: retries, dead letters, transacted delivery); while they drain keyed
 * messages they take turns at the claim ({@link ClaimTurn});</li>
 * <li>the {@link ClaimCursor} says where fresh claims start (the frontier) so that their cost stays flat while an old
 * snapshot elsewhere keeps acknowledged rows from being removed;</li>
 * <li>the {@link Sweep} watches what lies below the frontier and may still fall due, every pollInterval;</li>
 * <li>{@link LeaseRenewal} renews the leases of the items in hand; a claimed item becomes due again when its lease
 * runs out, which is how the work of a consumer that died is delivered again (at least once);</li>
 * <li>{@link ClaimHealth} reports UP or DOWN.</li>
 * </ul>
 * NOTIFY only wakes the workers ({@link WakeUps}, {@link WakeUpSignal}): they claim at start, after every (re)LISTEN,
 * on every wake-up and every pollInterval, so nothing depends on a notification arriving. Every database call is
 * bounded (connectTimeout, statementTimeout); a thread that stays stuck anyway is replaced ({@link StuckThreads}).
 * <p>
 * Longer than a class here should be: Camel manages the consumer object itself, so its lifecycle and its JMX
 * attributes and operations (a third of it) stay here; what it does is in the classes above.
 */
@ManagedResource(description = "A pgnotify queue or topic consumer")
public abstract class ClaimingConsumer extends DefaultConsumer
        implements SharedListener.Handler, ConsumerHealthCheck.Monitored, Suspendable {

    private static final Logger LOG = LoggerFactory.getLogger(ClaimingConsumer.class);
    /** At stop: how long threads may take to leave their database calls before those are cut short. */
    private static final long STOP_GRACE_MILLIS = 2000;
    /** At stop: the bound of the last acknowledgements and hand-backs. */
    static final long STOP_CALL_TIMEOUT_MILLIS = 5000;

    private final ClaimCursor cursor = new ClaimCursor();
    private final Handoff handoff = new Handoff();
    private final Sweep sweep = new Sweep(cursor, handoff, this::dueIn);
    private final ClaimCounters counters = new ClaimCounters();
    private final ClaimHealth health = new ClaimHealth(this);
    private final WakeUps wakeUps = new WakeUps(this);
    /** How producers of this application wake this consumer (see {@link LocalWakeUps}). */
    private final LocalWakeUps.Sleeper localWakeUp = wakeUps::wakeUp;
    private final List<Worker> workerList = new CopyOnWriteArrayList<>();
    private final StuckThreads stuckThreads = new StuckThreads(this);
    private final AtomicInteger failedClaims = new AtomicInteger();

    private volatile WakeUpSignal signal;
    private volatile ClaimTurn claimTurn;
    private volatile Throwable lastClaimFailure;
    private volatile Instant lastClaim;
    private volatile boolean running;
    private volatile long run;
    /** Suspended (paused): claims nothing new; what it holds finishes. */
    private volatile boolean paused;
    private CountDownLatch stopped;
    private volatile Database database;
    private volatile WorkStore store;
    /** The table's identity as last read (see {@link TableIdentity}); the sweeper's thread's after start. */
    private volatile TableIdentity identity;
    private boolean trustedIds = true;
    private SharedListener.Subscription subscription;
    private ExecutorService workers;
    private ScheduledExecutorService timers;
    private ScheduledExecutorService sweeper;

    protected ClaimingConsumer(ChannelEndpoint endpoint, Processor processor) {
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

    /** The name of the consumer's threads (Camel adds its own prefix and number). */
    protected abstract String threadName();

    /** Sets the headers of an exchange made from a message of an item. */
    protected abstract void populate(Message message, WorkStore.Item item, WorkStore.StoredMessage stored,
                                     Exchange exchange);

    /** Extra details for the health check. */
    protected void reportDetails(HealthCheckResultBuilder result) {
    }

    // ---- JMX and the console

    @Override
    public ChannelEndpoint getEndpoint() {
        return (ChannelEndpoint) super.getEndpoint();
    }

    protected PgNotifyConfiguration configuration() {
        return getEndpoint().getConfiguration();
    }

    protected String channel() {
        return getEndpoint().getChannel();
    }

    @ManagedAttribute(description = "Whether the consumer's LISTEN connection is up")
    public boolean isListening() {
        SharedListener.Subscription current = subscription;
        return current != null && current.listener().isListening();
    }

    @ManagedAttribute(description = "Claimed items (messages, or topic batches) this consumer holds right now")
    public int getInFlightCount() {
        return handoff.inHandCount();
    }

    @ManagedAttribute(description = "Messages delivered (exchanges that completed) since start")
    public long getDeliveredCount() {
        return counters.delivered.get();
    }

    @ManagedAttribute(description = "Deliveries that failed and were scheduled again since start")
    public long getRetriedCount() {
        return counters.retried.get();
    }

    @ManagedAttribute(description = "Messages moved to the dead-letter table since start")
    public long getDeadLetteredCount() {
        return counters.deadLettered.get();
    }

    /**
     * Messages not delivered because they expired: mode=queue, their expiry time passed before they were claimed;
     * mode=topic, the log emptied them after the maximum retention.
     */
    @ManagedAttribute(description = "Messages not delivered because they expired (mode=queue: expiry time passed;"
                                    + " mode=topic: the log no longer held them)")
    public long getExpiredCount() {
        return counters.expired.get();
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

    /** The id from which fresh claims scan (see {@link ClaimCursor}). */
    public long getFrontier() {
        return cursor.frontier();
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

    // ---- for the modes

    /**
     * An id below which no unfinished item exists (see {@link Sweep#unfinishedFrom()}): lets periodic scans of the
     * work (the lag) skip what is done, which an old snapshot may keep as dead rows.
     */
    protected long knownUnfinishedFrom() {
        return sweep.unfinishedFrom();
    }

    protected Database database() {
        return database;
    }

    /** The sweeper's executor, for a mode's own periodic work. */
    protected ScheduledExecutorService sweeper() {
        return sweeper;
    }

    /** Wakes a thread: there may be work (a cut found messages, say). */
    protected void wakeOne() {
        WakeUpSignal current = signal;
        if (current != null) {
            current.wakeOne();
        }
    }

    // ---- for the engine's parts

    boolean isRunning() {
        return running;
    }

    /** Counts the consumer's starts: a worker belongs to one. */
    long run() {
        return run;
    }

    ClaimCursor cursor() {
        return cursor;
    }

    Handoff handoff() {
        return handoff;
    }

    Sweep theSweep() {
        return sweep;
    }

    ClaimCounters counters() {
        return counters;
    }

    WakeUpSignal signal() {
        return signal;
    }

    /** This run's turns at the claim statement (a worker takes its run's at its start). */
    ClaimTurn claimTurn() {
        return claimTurn;
    }

    WorkStore store() {
        return store;
    }

    List<Worker> workers() {
        return workerList;
    }

    SharedListener.Subscription subscription() {
        return subscription;
    }

    int failedClaims() {
        return failedClaims.get();
    }

    Throwable lastClaimFailure() {
        return lastClaimFailure;
    }

    DataSource joinableDataSource() {
        return getEndpoint().joinableDataSource();
    }

    Exchange newExchange() {
        return createExchange(false);
    }

    void doneWith(Exchange exchange) {
        releaseExchange(exchange, false);
    }

    void workerExited(Worker worker) {
        workerList.remove(worker);
    }

    // ---- lifecycle

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        ChannelEndpoint endpoint = getEndpoint();
        PgNotifyConfiguration configuration = configuration();
        ExecutorServiceManager executors = endpoint.getCamelContext().getExecutorServiceManager();

        signal = new WakeUpSignal(configuration.getConcurrentConsumers());
        claimTurn = new ClaimTurn();
        cursor.reset();
        handoff.clear();
        sweep.reset(configuration.getPollInterval());
        failedClaims.set(0);
        lastClaimFailure = null;
        if (configuration.isTransacted()) {
            requireTransactionIntegration();
        }
        database = endpoint.getConnections().acquireDatabase();
        try {
            store = prepare(database);
            WorkStore prepared = store;
            identity = database.call(this, "reading the table's identity", prepared::identity);
            trustIdsIf(identity);
            // wake-ups are hints: the first claims run anyway, and the LISTEN's arrival triggers another
            if (configuration.isListen()) {
                subscription = endpoint.listeners().subscribe(
                        ListenerConnections.keyFor(endpoint.getConfiguration()), wakeUpChannel(), this, false);
            }
        } catch (Exception e) {
            endpoint.getConnections().releaseDatabase();
            database = null;
            throw e;
        }
        paused = false;
        run++;
        running = true;
        stopped = new CountDownLatch(1);
        String name = workKey();
        timers = executors.newSingleThreadScheduledExecutor(this, "PgNotifyLeases[" + name + "]");
        LeaseRenewal renewal = new LeaseRenewal(this);
        long renewEvery = Math.max(50, configuration.getLeaseTime() / 3);
        timers.scheduleWithFixedDelay(renewal::renew, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(stuckThreads::replace, 1, 1, TimeUnit.SECONDS);
        sweeper = executors.newSingleThreadScheduledExecutor(this, "PgNotifySweeper[" + name + "]");
        sweeper.scheduleWithFixedDelay(this::sweep, configuration.getPollInterval(), configuration.getPollInterval(),
                TimeUnit.MILLISECONDS);
        endpoint.localWakeUps().register(wakeUpChannel(), channel(), localWakeUp);
        workers = executors.newCachedThreadPool(this, threadName());
        for (int i = 0; i < configuration.getConcurrentConsumers(); i++) {
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

    void startWorker() {
        Worker worker = new Worker(this, database, store);
        workerList.add(worker);
        workers.execute(worker);
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        ExecutorServiceManager executors = getEndpoint().getCamelContext().getExecutorServiceManager();
        if (store != null) {
            getEndpoint().localWakeUps().unregister(wakeUpChannel(), channel(), localWakeUp);
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
            // each worker finishes the exchange in hand, hands back the rest of its claim and acknowledges; a claim or
            // acknowledgement blocked on a dead connection is cut short after a moment rather than at its bound
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
        stuckThreads.clear();
        if (sweeper != null) {
            sweeper.awaitTermination(STOP_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        }
        if (database != null) {
            database.watchdog().abortCallsOf(this);
        }
        if (sweeper != null) {
            executors.shutdownNow(sweeper);
            sweeper = null;
        }
        if (timers != null) {
            executors.shutdownNow(timers);
            timers = null;
        }
        handoff.clear();
        if (database != null) {
            database = null;
            getEndpoint().getConnections().releaseDatabase();
        }
        super.doStop();
    }

    // ---- wake-ups

    @Override
    public void onListening() {
        // first LISTEN or a reconnect: whatever arrived meanwhile is due
        WakeUpSignal current = signal;
        if (current != null) {
            current.wakeAll();
        }
    }

    /** A wake-up from the table's trigger or another application's producer: see {@link WakeUps}. */
    @Override
    public void onNotification(PGNotification notification) {
        wakeUps.onNotification(notification.getParameter());
    }

    /** Hands the item to a claim that many milliseconds from now (a retry, or an item the sweep saw falling due). */
    void dueIn(long itemId, long delayMillis) {
        wakeUps.dueIn(itemId, delayMillis);
    }

    ScheduledExecutorService timers() {
        return timers;
    }

    /** Checks the long transactions the cursor excused now, on the sweeper's thread (see {@link Sweep#checkPending}). */
    void checkPendingSoon() {
        ScheduledExecutorService sweeping = sweeper;
        Database current = database;
        WorkStore work = store;
        if (sweeping != null && running && current != null) {
            try {
                sweeping.execute(() -> {
                    try {
                        if (running && sweep.checkPending(callsOn(current), work)) {
                            wakeOne();
                        }
                    } catch (Exception e) {
                        LOG.debug("Checking the long transactions of {} failed; the next sweep does it", workKey(), e);
                    }
                });
            } catch (RejectedExecutionException e) {
                // stopping
            }
        }
    }

    private Sweep.Calls callsOn(Database current) {
        return new Sweep.Calls() {
            @Override
            public <T> T call(String what, Database.Work<T> work) throws java.sql.SQLException {
                return current.call(ClaimingConsumer.this, what, work);
            }
        };
    }

    /** Runs a sweep now, on the sweeper's thread (for items falling due that it may not see in time). */
    void sweepSoon() {
        ScheduledExecutorService sweeping = sweeper;
        if (sweeping != null && running) {
            try {
                sweeping.execute(this::sweep);
            } catch (RejectedExecutionException e) {
                // stopping
            }
        }
    }

    // ---- the sweep, claim failures

    private void sweep() {
        Database current = this.database;
        WorkStore work = this.store;
        if (!running || current == null) {
            return;
        }
        try {
            TableIdentity now = current.call(this, "reading the table's identity", work::identity);
            TableIdentity before = identity;
            if (before != null && now.renewedSince(before)) {
                LOG.info("The table of pgnotify:{} ({}) was emptied or its ids restarted (TRUNCATE, ALTER SEQUENCE ..."
                         + " RESTART): claims start again from its first message", channel(), workKey());
                cursor.reset();
            } else if (before != null && now.otherServerThan(before)) {
                // acknowledgements and claims the old server took and never replicated (or flushed) are not on this
                // one: what the cursor and the sweep remember of the ids below the frontier is not true here
                LOG.info("pgnotify:{} ({}) reaches another or a restarted PostgreSQL server (a failover, a restart, a"
                         + " crash recovery):"
                         + " claims and the sweep start again from its first message", channel(), workKey());
                cursor.reset();
            }
            trustIdsIf(now);
            identity = now;
            boolean found = sweep.run(callsOn(current), work);
            current.call(this, "refreshing what the sweep knows", connection -> {
                work.refresh(connection);
                return null;
            });
            if (found) {
                wakeOne();
            }
        } catch (Exception e) {
            if (running) {
                LOG.debug("The sweep of {} failed; it runs again in {} ms", workKey(),
                        configuration().getPollInterval(), e);
            }
        }
    }

    /** See {@link ClaimCursor#idsInOrder}: warned about once each time it changes. */
    private void trustIdsIf(TableIdentity now) {
        boolean wasTrusted = trustedIds;
        trustedIds = now.idsInOrder();
        cursor.idsInOrder(trustedIds);
        if (wasTrusted && !trustedIds) {
            LOG.warn("The ids of pgnotify:{} ({}) come from a sequence that caches {} ids per session, so they are not"
                     + " drawn in order: claims scan from the channel's first message, which is slower while another"
                     + " session holds an old snapshot. Set the cache to 1 (ALTER TABLE ... ALTER COLUMN id SET CACHE 1;"
                     + " mode=topic: ALTER SEQUENCE <topicTable>_items_id_seq CACHE 1)", channel(), workKey(),
                    now.cache());
        } else if (!wasTrusted && trustedIds) {
            LOG.info("The ids of pgnotify:{} ({}) are drawn in order again: claims start at the frontier", channel(),
                    workKey());
        }
    }

    void claimSucceeded() {
        lastClaim = Instant.now();
        if (failedClaims.getAndSet(0) > 0) {
            LOG.info("Claiming messages of {} works again", workKey());
        }
    }

    void claimFailed(Throwable e) {
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

    /**
     * Waits that long, or until the consumer stops. An interrupt only ends the wait (see {@link Worker}): it does not
     * stop the consumer.
     */
    void pause(long nanos) {
        try {
            stopped.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            LOG.debug("A wait of a consumer thread of {} was interrupted", workKey());
        }
    }

    /** The delay before the next delivery of a message whose delivery {@code attempt} failed. */
    public long retryDelay(int attempt) {
        PgNotifyConfiguration configuration = configuration();
        double delay = configuration.getRetryDelay() * Math.pow(configuration.getRetryMultiplier(), attempt - 1);
        return (long) Math.min(configuration.getMaxRetryDelay(), delay);
    }

    @Override
    public void reportHealth(HealthCheckResultBuilder result) {
        health.report(result);
    }
}
