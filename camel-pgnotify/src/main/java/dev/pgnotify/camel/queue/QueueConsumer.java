package dev.pgnotify.camel.queue;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.support.ConsumerHealthCheck;
import dev.pgnotify.camel.support.Database;
import dev.pgnotify.camel.support.SharedListener;
import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.spi.ExecutorServiceManager;
import org.apache.camel.support.DefaultConsumer;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mode=queue: claims due messages of the channel and turns each into an exchange; acknowledges (deletes) those whose
 * exchange completed, schedules a retry with backoff for those that failed, and moves those that exhausted their
 * attempts to the dead-letter table. NOTIFY only wakes it: it claims at start, after every (re)LISTEN, on every
 * wake-up for its channel and every pollInterval, so nothing depends on a notification arriving.
 * <p>
 * Claims are leases: a claimed message becomes due again when its lease runs out, which is how messages of a
 * consumer that died are delivered again. A running exchange's lease is renewed, so it is never taken away. Delivery
 * is therefore at least once.
 * <p>
 * Claims start at a frontier ({@link ClaimCursor}), so that their cost stays flat while another session's old
 * snapshot keeps vacuum from removing acknowledged rows. What lies below the frontier and may still become due — a
 * message leased by another consumer that dies, a retry another consumer scheduled, a row of a transaction that
 * committed late — is watched by a sweep every pollInterval: it scans only the ids the frontier passed since its last
 * run, looks up the messages it saw in someone's hands by id, and hands those that fall due to the next claim.
 * <p>
 * Every database call is bounded (connectTimeout, statementTimeout); a thread that stays stuck anyway is replaced.
 */
public class QueueConsumer extends DefaultConsumer implements SharedListener.Handler, ConsumerHealthCheck.Monitored {

    private static final Logger LOG = LoggerFactory.getLogger(QueueConsumer.class);
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
    /** The messages the sweep keeps an eye on below the frontier, at most. */
    static final int MAX_TRACKED = 10_000;
    /** Every this many sweeps, the sweep starts again from the channel's first id: a safety net. */
    static final int FULL_RESCAN_EVERY = 60;

    private WakeUpSignal signal;
    /** Claimed and not yet acknowledged, retried or released: id to the attempt it was claimed as. */
    private final Map<Long, Integer> inFlight = new ConcurrentHashMap<>();
    private final ClaimCursor cursor = new ClaimCursor();
    /** Due messages below the frontier, for the next claim to take by id. */
    private final Queue<Long> due = new ConcurrentLinkedQueue<>();
    private final Set<Long> dueSet = ConcurrentHashMap.newKeySet();
    /** Messages below the frontier the sweep saw in someone's hands; touched by the sweep's thread only. */
    private final Set<Long> tracked = new LinkedHashSet<>();
    private final List<Worker> workerList = new CopyOnWriteArrayList<>();
    /** Replaced threads that have not returned yet. */
    private final List<Worker> replacedStillStuck = new CopyOnWriteArrayList<>();

    private final AtomicInteger failedClaims = new AtomicInteger();
    private final AtomicLong replacedThreads = new AtomicLong();
    private volatile Throwable lastClaimFailure;
    private volatile Instant lastClaim;
    private volatile boolean running;
    private CountDownLatch stopped;
    private volatile Database database;
    private volatile QueueResources queue;
    private SharedListener.Subscription subscription;
    private ExecutorService workers;
    private ScheduledExecutorService leases;
    private ScheduledExecutorService sweeper;
    private long sweptUpTo;
    private int sweeps;

    public QueueConsumer(PgNotifyEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    public PgNotifyEndpoint getEndpoint() {
        return (PgNotifyEndpoint) super.getEndpoint();
    }

    private PgNotifyConfiguration configuration() {
        return getEndpoint().getConfiguration();
    }

    private String channel() {
        return getEndpoint().getChannel();
    }

    /** Whether the wake-up LISTEN connection is up. */
    public boolean isListening() {
        SharedListener.Subscription current = subscription;
        return current != null && current.listener().isListening();
    }

    /** How many claimed messages this consumer holds right now. */
    public int getInFlightCount() {
        return inFlight.size();
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
        tracked.clear();
        sweptUpTo = 0;
        sweeps = 0;
        failedClaims.set(0);
        lastClaimFailure = null;
        database = endpoint.getConnections().acquireDatabase();
        try {
            queue = endpoint.queue(database, this);
            queue.requirePrivileges(database, this, QueueResources.Role.CONSUMER);
            // wake-ups are hints: the first claims run anyway, and the LISTEN's arrival triggers another
            subscription = endpoint.getComponent().getListeners().subscribe(endpoint.getConnections().listenerKey(),
                    queue.table().wakeUpChannel(), this, false);
        } catch (Exception e) {
            endpoint.getConnections().releaseDatabase();
            database = null;
            throw e;
        }
        running = true;
        stopped = new CountDownLatch(1);
        leases = executors.newSingleThreadScheduledExecutor(this, "PgNotifyQueueLeases[" + channel() + "]");
        long renewEvery = Math.max(50, configuration.getLeaseTime() / 3);
        leases.scheduleWithFixedDelay(this::renewLeases, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        leases.scheduleWithFixedDelay(this::replaceStuckThreads, 1, 1, TimeUnit.SECONDS);
        sweeper = executors.newSingleThreadScheduledExecutor(this, "PgNotifyQueueSweeper[" + channel() + "]");
        sweeper.scheduleWithFixedDelay(this::sweep, configuration.getPollInterval(), configuration.getPollInterval(),
                TimeUnit.MILLISECONDS);
        endpoint.getComponent().getLocalWakeUps().register(queue.table().wakeUpChannel(), channel(), signal);
        int threads = configuration.getConcurrentConsumers();
        workers = executors.newCachedThreadPool(this, "PgNotifyQueueConsumer[" + channel() + "]");
        for (int i = 0; i < threads; i++) {
            startWorker();
        }
        endpoint.installHealthCheck(this, this);
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
        if (queue != null) {
            getEndpoint().getComponent().getLocalWakeUps().unregister(queue.table().wakeUpChannel(), channel(), signal);
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

    @Override
    public void onListening() {
        // first LISTEN or a reconnect: whatever arrived meanwhile is due
        WakeUpSignal current = signal;
        if (current != null) {
            current.wakeAll();
        }
    }

    /**
     * A wake-up's payload is the queue channel, followed by a space and the id of the sending component when a pgnotify
     * producer sent it; a wake-up from this consumer's own component has already been delivered directly.
     */
    @Override
    public void onNotification(PGNotification notification) {
        String payload = notification.getParameter();
        int space = payload.indexOf(' ');
        String channel = space < 0 ? payload : payload.substring(0, space);
        if (channel().equals(channel)
                && (space < 0 || !payload.substring(space + 1).equals(getEndpoint().getComponent().getLocalWakeUps().id()))) {
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
            dueSet.remove(id);
            taken.add(id);
        }
        return taken.toArray(new Long[0]);
    }

    /** A claimed message as read from its row. */
    private record Claimed(long id, Object body, String headers, int attempt, Timestamp createdAt) {
    }

    /** What one claim returned. */
    private record Claim(List<Claimed> messages, ClaimCursor.Outcome outcome, boolean full) {
    }

    private final class Worker implements Runnable {

        /** This run's resources, kept by the thread even if the consumer stops while it finishes. */
        private final Database database = QueueConsumer.this.database;
        private final QueueResources queue = QueueConsumer.this.queue;
        private final List<Claimed> acknowledgements = new ArrayList<>();
        /** Claimed and not yet finished by this thread, to drop if it is replaced. */
        private final Set<Long> held = ConcurrentHashMap.newKeySet();
        private long lastClaimNanos = System.nanoTime() - MIN_CLAIM_INTERVAL_NANOS;
        private boolean lastClaimFull;
        private volatile boolean abandoned;
        private volatile boolean exited;
        private volatile String callWhat;
        private volatile long callStartedNanos;

        @Override
        public void run() {
            while (running && !abandoned) {
                if (!lastClaimFull) {
                    lingerAfterLastClaim();
                }
                Claim claim;
                try {
                    lastClaimNanos = System.nanoTime();
                    claim = acknowledgeAndClaim();
                    lastClaimFull = claim.full();
                    claimSucceeded();
                } catch (Exception | Error e) {
                    // an Error too (a body too large for the heap, say): the thread must live on, and the message
                    // ends in the dead-letter table after its attempts, claimed without its body
                    if (!running || abandoned) {
                        LOG.debug("A claim of channel {} ended with the consumer's stop", channel(), e);
                        break;
                    }
                    claimFailed(e);
                    continue;
                }
                if (abandoned) {
                    break;
                }
                if (claim.messages().isEmpty()) {
                    awaitWakeUp();
                    continue;
                }
                if (lastClaimFull) {
                    // there is probably more: a second thread helps
                    signal.wakeOne();
                }
                processAll(claim.messages());
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
                return database.call(QueueConsumer.this, what, timeoutMillis, work);
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

        private void processAll(List<Claimed> claimed) {
            for (int i = 0; i < claimed.size(); i++) {
                if (abandoned) {
                    return;
                }
                if (!running) {
                    release(claimed.subList(i, claimed.size()));
                    return;
                }
                Claimed message = claimed.get(i);
                if (message.attempt() > configuration().getMaxAttempts()) {
                    moveToDeadLetter(message, "Gave up after " + configuration().getMaxAttempts()
                                              + " deliveries that never completed (its consumer died, or could not"
                                              + " even read it)");
                    continue;
                }
                Exception failure = process(message);
                if (failure == null) {
                    acknowledgements.add(message);
                } else if (message.attempt() >= configuration().getMaxAttempts()) {
                    moveToDeadLetter(message, errorText(failure));
                } else {
                    retryLater(message, failure);
                }
            }
        }

        private Claim acknowledgeAndClaim() throws SQLException {
            PgNotifyConfiguration configuration = configuration();
            int batch = configuration.getMaxMessagesPerPoll();
            long startedAt = cursor.claimStarting();
            long frontier = cursor.frontier();
            Long[] dueIds = takeDue(batch);
            Claim claim = call("claiming messages", database.statementTimeoutMillis(), connection -> {
                try (PreparedStatement statement = connection.prepareStatement(queue.sql().acknowledgeAndClaim)) {
                    // binary results from the first execution: a bytea body arrives as its bytes, not as hex text
                    // twice its size
                    statement.unwrap(PGStatement.class).setPrepareThreshold(-1);
                    Array ackIds = connection.createArrayOf("bigint",
                            acknowledgements.stream().map(Claimed::id).toArray(Long[]::new));
                    Array ackAttempts = connection.createArrayOf("integer",
                            acknowledgements.stream().map(Claimed::attempt).toArray(Integer[]::new));
                    Array named = connection.createArrayOf("bigint", dueIds);
                    statement.setArray(1, ackIds);
                    statement.setArray(2, ackAttempts);
                    statement.setArray(3, ackIds);
                    statement.setArray(4, named);
                    statement.setArray(5, ackIds);
                    statement.setInt(6, batch);
                    statement.setString(7, channel());
                    statement.setLong(8, frontier);
                    statement.setArray(9, ackIds);
                    statement.setArray(10, named);
                    statement.setInt(11, batch);
                    statement.setLong(12, configuration.getMaxBytesPerPoll());
                    statement.setLong(13, configuration.getLeaseTime());
                    for (int i = 14; i <= 16; i++) {
                        statement.setInt(i, configuration.getMaxAttempts());
                    }
                    statement.setString(17, queue.sequence());
                    return read(statement, startedAt, frontier, dueIds, batch);
                }
            });
            for (Claimed message : acknowledgements) {
                inFlight.remove(message.id());
                held.remove(message.id());
            }
            acknowledgements.clear();
            cursor.claimed(claim.outcome());
            return claim;
        }

        private Claim read(PreparedStatement statement, long startedAt, long frontier, Long[] dueIds, int batch)
                throws SQLException {
            List<Claimed> claimed = new ArrayList<>();
            String snapshot = null;
            Long lastId = null;
            long fresh = 0;
            Long claimXid = null;
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    if (snapshot == null) {
                        snapshot = rs.getString(9);
                        long last = rs.getLong(10);
                        lastId = rs.wasNull() ? null : last;
                        fresh = rs.getLong(11);
                    }
                    long id = rs.getLong(1);
                    if (rs.wasNull()) {
                        continue;
                    }
                    Object body = rs.getString(2);
                    if (body == null) {
                        body = rs.getString(3);
                    }
                    if (body == null) {
                        body = rs.getBytes(4);
                    }
                    Claimed message = new Claimed(id, body, rs.getString(5), rs.getInt(6), rs.getTimestamp(7));
                    String xid = rs.getString(8);
                    if (xid != null) {
                        claimXid = Long.parseLong(xid);
                    }
                    inFlight.put(message.id(), message.attempt());
                    held.add(message.id());
                    claimed.add(message);
                }
            }
            // the rows come back in no particular order; the channel's order is the ids'
            claimed.sort((a, b) -> Long.compare(a.id(), b.id()));
            Set<Long> named = Set.of(dueIds);
            long freshClaimed = 0;
            long lastFreshClaimed = frontier;
            for (Claimed message : claimed) {
                if (!named.contains(message.id())) {
                    freshClaimed++;
                    lastFreshClaimed = Math.max(lastFreshClaimed, message.id());
                }
            }
            boolean examinedAll = fresh < batch && freshClaimed == fresh;
            ClaimCursor.Outcome outcome = new ClaimCursor.Outcome(startedAt, frontier,
                    ClaimCursor.Snapshot.parse(snapshot), claimXid, lastId, examinedAll, lastFreshClaimed);
            return new Claim(claimed, outcome, claimed.size() >= batch || !examinedAll);
        }

        private Exception process(Claimed message) {
            Exchange exchange = createExchange(false);
            try {
                Message in = exchange.getMessage();
                in.setHeaders(queue.codec().decodeHeaders(message.headers(), exchange));
                in.setHeader(PgNotifyConstants.MESSAGE_ID, message.id());
                in.setHeader(PgNotifyConstants.CHANNEL, channel());
                in.setHeader(PgNotifyConstants.ATTEMPT, message.attempt());
                in.setHeader(PgNotifyConstants.CREATED_AT, message.createdAt().toInstant());
                in.setBody(message.body());
                getProcessor().process(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            } catch (Error e) {
                exchange.setException(new CamelExchangeException("The route threw " + e, exchange, e));
            }
            Exception failure = exchange.getException();
            releaseExchange(exchange, false);
            return failure;
        }

        private void retryLater(Claimed message, Exception failure) {
            long delay = retryDelay(message.attempt());
            LOG.warn("Message {} of channel {} failed on delivery {} of {}; delivering it again in {} ms: {}",
                    message.id(), channel(), message.attempt(), configuration().getMaxAttempts(), delay,
                    failure.toString());
            try {
                call("scheduling a retry", database.statementTimeoutMillis(), connection -> {
                    try (PreparedStatement retry = connection.prepareStatement(queue.sql().retryLater)) {
                        retry.setLong(1, delay);
                        retry.setString(2, errorText(failure));
                        retry.setLong(3, message.id());
                        retry.setInt(4, message.attempt());
                        return retry.executeUpdate();
                    }
                });
                finished(message);
                // its wake-up: nothing notifies when a retry falls due, and it lies below the frontier
                leases.schedule(() -> {
                    addDue(message.id());
                    signal.wakeOne();
                }, delay, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                logBookkeepingFailure("Could not schedule the retry of message " + message.id()
                                      + "; it is delivered again when its lease runs out",
                        e);
            }
        }

        private void moveToDeadLetter(Claimed message, String error) {
            LOG.warn("Message {} of channel {} moves to the dead-letter table {} after {} deliveries: {}",
                    message.id(), channel(), queue.table().deadLetterDisplay(), message.attempt(), error);
            try {
                call("moving a message to the dead-letter table", database.statementTimeoutMillis(), connection -> {
                    try (PreparedStatement dead = connection.prepareStatement(queue.sql().moveToDeadLetter)) {
                        dead.setLong(1, message.id());
                        dead.setInt(2, message.attempt());
                        dead.setString(3, error);
                        return dead.executeUpdate();
                    }
                });
                finished(message);
            } catch (Exception e) {
                logBookkeepingFailure("Could not move message " + message.id()
                                      + " to the dead-letter table; it is delivered again when its lease runs out",
                        e);
            }
        }

        private void finished(Claimed message) {
            inFlight.remove(message.id());
            held.remove(message.id());
        }

        /** Hands claimed but unprocessed messages back at once, instead of when their lease runs out. */
        private void release(List<Claimed> unprocessed) {
            try {
                call("handing back claimed messages", STOP_CALL_TIMEOUT_MILLIS, connection -> {
                    try (PreparedStatement release = connection.prepareStatement(queue.sql().releaseClaims)) {
                        Array ids = connection.createArrayOf("bigint",
                                unprocessed.stream().map(Claimed::id).toArray(Long[]::new));
                        release.setArray(1, ids);
                        release.setArray(2, connection.createArrayOf("integer",
                                unprocessed.stream().map(Claimed::attempt).toArray(Integer[]::new)));
                        release.setArray(3, ids);
                        return release.executeUpdate();
                    }
                });
            } catch (Exception e) {
                LOG.debug("Could not hand back {} claimed message(s); they are delivered again when their lease runs"
                          + " out",
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
                            try (PreparedStatement acknowledge = connection.prepareStatement(queue.sql().acknowledge)) {
                                Array ids = connection.createArrayOf("bigint",
                                        acknowledgements.stream().map(Claimed::id).toArray(Long[]::new));
                                acknowledge.setArray(1, ids);
                                acknowledge.setArray(2, connection.createArrayOf("integer",
                                        acknowledgements.stream().map(Claimed::attempt).toArray(Integer[]::new)));
                                acknowledge.setArray(3, ids);
                                return acknowledge.executeUpdate();
                            }
                        });
            } catch (Exception e) {
                LOG.info("Could not acknowledge {} processed message(s) of channel {} while stopping; they will be"
                         + " delivered again: {}",
                        acknowledgements.size(), channel(), e.getMessage());
            }
            acknowledgements.forEach(this::finished);
            acknowledgements.clear();
        }

        private void logBookkeepingFailure(String message, Exception e) {
            if (running && !abandoned) {
                LOG.warn("{} (channel {}): {}", message, channel(), e.getMessage());
            } else {
                LOG.debug("{} (channel {})", message, channel(), e);
            }
        }

        private void lingerAfterLastClaim() {
            long wait = lastClaimNanos + MIN_CLAIM_INTERVAL_NANOS - System.nanoTime();
            if (wait > 0) {
                pause(wait);
            }
        }

        private void awaitWakeUp() {
            try {
                if (!due.isEmpty()) {
                    return;
                }
                signal.await(configuration().getPollInterval());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void claimSucceeded() {
        lastClaim = Instant.now();
        if (failedClaims.getAndSet(0) > 0) {
            LOG.info("Claiming messages of channel {} works again", channel());
        }
    }

    private void claimFailed(Throwable e) {
        lastClaimFailure = e;
        int failures = failedClaims.incrementAndGet();
        long delay = Math.min(configuration().getMaxReconnectDelay(),
                configuration().getReconnectDelay() << Math.min(failures - 1, 20));
        if (failures == 1) {
            getExceptionHandler().handleException("Cannot claim messages of channel " + channel()
                                                  + "; trying again in " + delay + " ms",
                    e);
        } else {
            LOG.debug("Claim attempt {} of channel {} failed", failures, channel(), e);
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

    long retryDelay(int attempt) {
        PgNotifyConfiguration configuration = configuration();
        double delay = configuration.getRetryDelay() * Math.pow(configuration.getRetryMultiplier(), attempt - 1);
        return (long) Math.min(configuration.getMaxRetryDelay(), delay);
    }

    /**
     * Renews the leases of the messages in hand. Bounded by a third of the lease, and tried again at once on a new
     * connection when it fails, so that one dead connection does not let the leases run out.
     */
    private void renewLeases() {
        Database database = this.database;
        if (inFlight.isEmpty() || !running || database == null) {
            return;
        }
        long timeout = Math.min(database.statementTimeoutMillis(), Math.max(100, configuration().getLeaseTime() / 4));
        for (int attempt = 1; attempt <= 2 && running; attempt++) {
            List<Map.Entry<Long, Integer>> leased = new ArrayList<>(inFlight.entrySet());
            try {
                database.call(this, "renewing leases", timeout, connection -> {
                    try (PreparedStatement renew = connection.prepareStatement(queue.sql().renewLeases)) {
                        Array ids = connection.createArrayOf("bigint", leased.stream().map(Map.Entry::getKey).toArray());
                        renew.setLong(1, configuration().getLeaseTime());
                        renew.setArray(2, ids);
                        renew.setArray(3, connection.createArrayOf("integer",
                                leased.stream().map(Map.Entry::getValue).toArray()));
                        renew.setArray(4, ids);
                        return renew.executeUpdate();
                    }
                });
                return;
            } catch (Exception e) {
                if (running) {
                    LOG.warn("Could not renew the leases of {} message(s) of channel {} (attempt {}): {}",
                            leased.size(), channel(), attempt, e.getMessage());
                }
            }
        }
    }

    /**
     * Watches below the frontier (see the class comment): scans the ids the frontier passed since the last sweep
     * (and the unsettled ones again), looks up by id the messages seen in someone's hands, and hands the due ones to
     * the next claim.
     */
    private void sweep() {
        if (!running || database == null) {
            return;
        }
        try {
            if (++sweeps % FULL_RESCAN_EVERY == 0) {
                // a safety net for rows no rule foresaw (an id set by hand, say): walk the channel again, in chunks
                sweptUpTo = 0;
            }
            long frontier = cursor.frontier();
            long from = Math.min(sweptUpTo, cursor.settled());
            int chunks = 0;
            boolean found = false;
            while (from < frontier && chunks++ < SWEEP_MAX_CHUNKS && running) {
                long to = Math.min(frontier, from + SWEEP_CHUNK_IDS);
                Scanned scanned = scanRange(from, to);
                found |= scanned.anyDue();
                from = scanned.reached();
                sweptUpTo = Math.max(sweptUpTo, from);
            }
            found |= checkTracked();
            if (found) {
                signal.wakeOne();
            }
        } catch (Exception e) {
            if (running) {
                LOG.debug("The sweep of channel {} failed; it runs again in {} ms", channel(),
                        configuration().getPollInterval(), e);
            }
        }
    }

    /** How far a scan got, and whether it found due messages. */
    private record Scanned(long reached, boolean anyDue) {
    }

    /**
     * Scans (from, to] for live messages: the due ones go to the next claim, the others are tracked. Stops early at
     * its row limit.
     */
    private Scanned scanRange(long from, long to) throws SQLException {
        List<long[]> live = database.call(this, "sweeping below the frontier", connection -> {
            try (PreparedStatement scan = connection.prepareStatement(queue.sql().liveInRange)) {
                scan.setString(1, channel());
                scan.setLong(2, from);
                scan.setLong(3, to);
                scan.setInt(4, SWEEP_MAX_ROWS);
                List<long[]> rows = new ArrayList<>();
                try (ResultSet rs = scan.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new long[] { rs.getLong(1), rs.getBoolean(2) ? 1 : 0 });
                    }
                }
                return rows;
            }
        });
        boolean anyDue = false;
        for (long[] row : live) {
            if (row[1] == 1 && !inFlight.containsKey(row[0])) {
                addDue(row[0]);
                anyDue = true;
            } else if (tracked.size() < MAX_TRACKED) {
                tracked.add(row[0]);
            }
        }
        long reached = live.size() >= SWEEP_MAX_ROWS ? live.get(live.size() - 1)[0] : to;
        return new Scanned(reached, anyDue);
    }

    /** Looks up the tracked messages by id: gone ones are forgotten, due ones go to the next claim. */
    private boolean checkTracked() throws SQLException {
        if (tracked.isEmpty()) {
            return false;
        }
        Long[] ids = tracked.toArray(new Long[0]);
        Map<Long, Boolean> live = database.call(this, "looking up messages below the frontier", connection -> {
            try (PreparedStatement lookUp = connection.prepareStatement(queue.sql().liveAmong)) {
                lookUp.setArray(1, connection.createArrayOf("bigint", ids));
                Map<Long, Boolean> rows = new LinkedHashMap<>();
                try (ResultSet rs = lookUp.executeQuery()) {
                    while (rs.next()) {
                        rows.put(rs.getLong(1), rs.getBoolean(2));
                    }
                }
                return rows;
            }
        });
        tracked.retainAll(live.keySet());
        boolean anyDue = false;
        for (Map.Entry<Long, Boolean> row : live.entrySet()) {
            if (row.getValue() && !inFlight.containsKey(row.getKey())) {
                addDue(row.getKey());
                anyDue = true;
            }
        }
        return anyDue;
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
        result.detail("mode", "queue").detail("inFlight", inFlight.size()).detail("threads", workerList.size());
        Instant claimedAt = lastClaim;
        if (claimedAt != null) {
            result.detail("lastClaim", claimedAt.toString());
        }
        if (replacedThreads.get() > 0) {
            result.detail("replacedThreads", replacedThreads.get());
        }
        Throwable claimFailure = lastClaimFailure;
        if (claimFailure != null) {
            result.detail("lastError", String.valueOf(claimFailure.getMessage()));
        }
        if (current == null || !running) {
            result.down().message("pgnotify:" + channel() + " is not started");
            return;
        }
        SharedListener listener = current.listener();
        result.detail("database", listener.key().toString()).detail("reconnects", listener.getReconnects())
                .detail("listening", listener.isListening());
        long slowest = workerList.stream().filter(w -> "claiming messages".equals(w.callWhat))
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

    private static String errorText(Throwable failure) {
        StringBuilder text = new StringBuilder(failure.toString());
        Throwable cause = failure.getCause();
        for (int depth = 0; cause != null && depth < 10; depth++, cause = cause.getCause()) {
            text.append("; caused by: ").append(cause);
        }
        return text.length() > MAX_ERROR_TEXT ? text.substring(0, MAX_ERROR_TEXT) : text.toString();
    }
}
