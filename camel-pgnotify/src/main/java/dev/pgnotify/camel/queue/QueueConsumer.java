package dev.pgnotify.camel.queue;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.support.NotificationListener;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
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
 */
public class QueueConsumer extends DefaultConsumer implements NotificationListener.Handler {

    private static final Logger LOG = LoggerFactory.getLogger(QueueConsumer.class);
    private static final int MAX_ERROR_TEXT = 4000;
    private static final Long[] NO_IDS = new Long[0];
    /**
     * The least time between two claims of a thread while messages trickle in: what arrives meanwhile shares the next
     * claim. Each claim is a transaction; one per message cost half of a streaming producer's throughput on two
     * cores. A backlog (a full claim) is claimed again at once.
     */
    private static final long MIN_CLAIM_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private WakeUpSignal signal;
    /** Claimed and not yet acknowledged, retried or released: id to the attempt it was claimed as. */
    private final Map<Long, Integer> inFlight = new ConcurrentHashMap<>();

    private volatile boolean running;
    private CountDownLatch stopped;
    private DataSource dataSource;
    private QueueResources queue;
    private NotificationListener listener;
    private ExecutorService listenerExecutor;
    private ExecutorService workers;
    private ScheduledExecutorService scheduler;

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

    /** Whether the wake-up LISTEN connection is up. */
    public boolean isListening() {
        return listener != null && listener.isListening();
    }

    /** How many claimed messages this consumer holds right now. */
    public int getInFlightCount() {
        return inFlight.size();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        PgNotifyEndpoint endpoint = getEndpoint();
        String channel = endpoint.getChannel();
        PgNotifyConfiguration configuration = configuration();
        ExecutorServiceManager executors = endpoint.getCamelContext().getExecutorServiceManager();

        signal = new WakeUpSignal(configuration.getConcurrentConsumers());
        dataSource = endpoint.getConnections().acquirePooled();
        try {
            queue = endpoint.queue(dataSource);
            listener = new NotificationListener(queue.table().wakeUpChannel(),
                    () -> endpoint.getConnections().openListenerConnection(channel), configuration, this);
            // LISTEN before the first claim, so that nothing inserted in between goes unnoticed
            listener.connect();
        } catch (Exception e) {
            endpoint.getConnections().releasePooled();
            dataSource = null;
            throw e;
        }
        running = true;
        stopped = new CountDownLatch(1);
        listenerExecutor = executors.newSingleThreadExecutor(this, "PgNotifyQueueListener[" + channel + "]");
        listenerExecutor.execute(listener);
        scheduler = executors.newSingleThreadScheduledExecutor(this, "PgNotifyQueueLeases[" + channel + "]");
        long renewEvery = Math.max(50, configuration.getLeaseTime() / 3);
        scheduler.scheduleWithFixedDelay(this::renewLeases, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        endpoint.getComponent().getLocalWakeUps().register(queue.table().wakeUpChannel(), channel, signal);
        int threads = configuration.getConcurrentConsumers();
        workers = executors.newFixedThreadPool(this, "PgNotifyQueueConsumer[" + channel + "]", threads);
        for (int i = 0; i < threads; i++) {
            workers.execute(new Worker());
        }
        endpoint.installHealthCheck(this, listener);
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
        if (queue != null) {
            getEndpoint().getComponent().getLocalWakeUps().unregister(queue.table().wakeUpChannel(),
                    getEndpoint().getChannel(), signal);
        }
        if (stopped != null) {
            stopped.countDown();
        }
        if (signal != null) {
            signal.wakeAll();
        }
        if (listener != null) {
            listener.stop();
        }
        ExecutorServiceManager executors = getEndpoint().getCamelContext().getExecutorServiceManager();
        if (workers != null) {
            // each worker finishes the exchange in hand, hands back the rest of its claim and acknowledges
            executors.shutdownGraceful(workers);
            workers = null;
        }
        if (listenerExecutor != null) {
            executors.shutdownGraceful(listenerExecutor);
            listenerExecutor = null;
        }
        if (scheduler != null) {
            executors.shutdownNow(scheduler);
            scheduler = null;
        }
        listener = null;
        if (dataSource != null) {
            dataSource = null;
            getEndpoint().getConnections().releasePooled();
        }
        super.doStop();
    }

    @Override
    public void onListening() {
        // first LISTEN or a reconnect: whatever arrived meanwhile is due
        signal.wakeAll();
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
        if (getEndpoint().getChannel().equals(channel)
                && (space < 0 || !payload.substring(space + 1).equals(getEndpoint().getComponent().getLocalWakeUps().id()))) {
            signal.wakeOne();
        }
    }

    /** A claimed message as read from its row. */
    private record Claimed(long id, Object body, String headers, int attempt, Timestamp createdAt) {
    }

    private final class Worker implements Runnable {

        private final List<Long> acknowledgements = new ArrayList<>();
        private int failedClaims;
        private long lastClaim = System.nanoTime() - MIN_CLAIM_INTERVAL_NANOS;
        private boolean lastClaimFull;

        @Override
        public void run() {
            while (running) {
                if (!lastClaimFull) {
                    lingerAfterLastClaim();
                }
                List<Claimed> claimed;
                try {
                    lastClaim = System.nanoTime();
                    claimed = acknowledgeAndClaim();
                    lastClaimFull = claimed.size() >= configuration().getMaxMessagesPerPoll();
                    failedClaims = 0;
                } catch (Exception | Error e) {
                    // an Error too (a body too large for the heap, say): the thread must live on, and the message
                    // ends in the dead-letter table after its attempts, claimed without its body
                    claimFailed(e);
                    continue;
                }
                if (claimed.isEmpty()) {
                    awaitWakeUp();
                    continue;
                }
                if (lastClaimFull) {
                    // there is probably more: a second thread helps
                    signal.wakeOne();
                }
                processAll(claimed);
            }
            flushAcknowledgements();
        }

        private void processAll(List<Claimed> claimed) {
            for (int i = 0; i < claimed.size(); i++) {
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
                    acknowledgements.add(message.id());
                } else if (message.attempt() >= configuration().getMaxAttempts()) {
                    moveToDeadLetter(message, errorText(failure));
                } else {
                    retryLater(message, failure);
                }
            }
        }

        private List<Claimed> acknowledgeAndClaim() throws SQLException {
            PgNotifyConfiguration configuration = configuration();
            List<Claimed> claimed = new ArrayList<>();
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement claim = connection.prepareStatement(queue.sql().acknowledgeAndClaim)) {
                // binary results from the first execution: a bytea body arrives as its bytes, not as hex text twice
                // its size
                claim.unwrap(PGStatement.class).setPrepareThreshold(-1);
                Array acknowledged = connection.createArrayOf("bigint", acknowledgements.toArray(NO_IDS));
                claim.setArray(1, acknowledged);
                claim.setString(2, getEndpoint().getChannel());
                claim.setArray(3, acknowledged);
                claim.setInt(4, configuration.getMaxMessagesPerPoll());
                claim.setLong(5, configuration.getMaxBytesPerPoll());
                claim.setLong(6, configuration.getLeaseTime());
                for (int i = 7; i <= 9; i++) {
                    claim.setInt(i, configuration.getMaxAttempts());
                }
                try (ResultSet rs = claim.executeQuery()) {
                    while (rs.next()) {
                        Object body = rs.getString(2);
                        if (body == null) {
                            body = rs.getString(3);
                        }
                        if (body == null) {
                            body = rs.getBytes(4);
                        }
                        Claimed message = new Claimed(rs.getLong(1), body, rs.getString(5), rs.getInt(6),
                                rs.getTimestamp(7));
                        inFlight.put(message.id(), message.attempt());
                        claimed.add(message);
                    }
                }
            }
            acknowledgements.forEach(inFlight::remove);
            acknowledgements.clear();
            // the rows come back in no particular order; the channel's order is the ids'
            claimed.sort((a, b) -> Long.compare(a.id(), b.id()));
            return claimed;
        }

        private Exception process(Claimed message) {
            Exchange exchange = createExchange(false);
            try {
                Message in = exchange.getMessage();
                in.setHeaders(queue.codec().decodeHeaders(message.headers(), exchange));
                in.setHeader(PgNotifyConstants.MESSAGE_ID, message.id());
                in.setHeader(PgNotifyConstants.CHANNEL, getEndpoint().getChannel());
                in.setHeader(PgNotifyConstants.ATTEMPT, message.attempt());
                in.setHeader(PgNotifyConstants.CREATED_AT, message.createdAt().toInstant());
                in.setBody(message.body());
                getProcessor().process(exchange);
            } catch (Exception e) {
                exchange.setException(e);
            } catch (Error e) {
                exchange.setException(new org.apache.camel.CamelExchangeException("The route threw " + e, exchange, e));
            }
            Exception failure = exchange.getException();
            releaseExchange(exchange, false);
            return failure;
        }

        private void retryLater(Claimed message, Exception failure) {
            long delay = retryDelay(message.attempt());
            LOG.warn("Message {} of channel {} failed on delivery {} of {}; delivering it again in {} ms: {}",
                    message.id(), getEndpoint().getChannel(), message.attempt(), configuration().getMaxAttempts(),
                    delay, failure.toString());
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement retry = connection.prepareStatement(queue.sql().retryLater)) {
                retry.setLong(1, delay);
                retry.setString(2, errorText(failure));
                retry.setLong(3, message.id());
                retry.setInt(4, message.attempt());
                retry.executeUpdate();
                inFlight.remove(message.id());
                // its wake-up: nothing notifies when a retry falls due
                scheduler.schedule(signal::wakeOne, delay, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.warn("Could not schedule the retry of message {} of channel {}; it is delivered again when its"
                         + " lease runs out: {}", message.id(), getEndpoint().getChannel(), e.toString());
            }
        }

        private void moveToDeadLetter(Claimed message, String error) {
            LOG.warn("Message {} of channel {} moves to the dead-letter table {} after {} deliveries: {}",
                    message.id(), getEndpoint().getChannel(), queue.table().deadLetterDisplay(), message.attempt(),
                    error);
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement dead = connection.prepareStatement(queue.sql().moveToDeadLetter)) {
                dead.setLong(1, message.id());
                dead.setInt(2, message.attempt());
                dead.setString(3, error);
                dead.executeUpdate();
                inFlight.remove(message.id());
            } catch (Exception e) {
                LOG.warn("Could not move message {} of channel {} to the dead-letter table; it is delivered again when"
                         + " its lease runs out: {}", message.id(), getEndpoint().getChannel(), e.toString());
            }
        }

        /** Hands claimed but unprocessed messages back at once, instead of when their lease runs out. */
        private void release(List<Claimed> unprocessed) {
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement release = connection.prepareStatement(queue.sql().releaseClaims)) {
                release.setArray(1, connection.createArrayOf("bigint",
                        unprocessed.stream().map(Claimed::id).toArray(Long[]::new)));
                release.setArray(2, connection.createArrayOf("integer",
                        unprocessed.stream().map(Claimed::attempt).toArray(Integer[]::new)));
                release.executeUpdate();
            } catch (Exception e) {
                LOG.debug("Could not hand back {} claimed message(s); they are delivered again when their lease runs"
                          + " out", unprocessed.size(), e);
            }
            unprocessed.forEach(message -> inFlight.remove(message.id()));
        }

        private void flushAcknowledgements() {
            if (acknowledgements.isEmpty()) {
                return;
            }
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement acknowledge = connection.prepareStatement(queue.sql().acknowledge)) {
                acknowledge.setArray(1, connection.createArrayOf("bigint", acknowledgements.toArray(NO_IDS)));
                acknowledge.executeUpdate();
            } catch (Exception e) {
                LOG.warn("Could not acknowledge {} processed message(s) of channel {}; they will be delivered again:"
                         + " {}", acknowledgements.size(), getEndpoint().getChannel(), e.toString());
            }
            acknowledgements.forEach(inFlight::remove);
            acknowledgements.clear();
        }

        private void claimFailed(Throwable e) {
            failedClaims++;
            long delay = Math.min(configuration().getMaxReconnectDelay(),
                    configuration().getReconnectDelay() << Math.min(failedClaims - 1, 20));
            if (failedClaims == 1) {
                getExceptionHandler().handleException("Cannot claim messages of channel " + getEndpoint().getChannel()
                                                      + "; trying again in " + delay + " ms",
                        e);
            } else {
                LOG.debug("Claim attempt {} of channel {} failed", failedClaims, getEndpoint().getChannel(), e);
            }
            pause(TimeUnit.MILLISECONDS.toNanos(delay));
        }

        private void lingerAfterLastClaim() {
            long wait = lastClaim + MIN_CLAIM_INTERVAL_NANOS - System.nanoTime();
            if (wait > 0) {
                pause(wait);
            }
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

        private void awaitWakeUp() {
            try {
                signal.await(configuration().getPollInterval());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    long retryDelay(int attempt) {
        PgNotifyConfiguration configuration = configuration();
        double delay = configuration.getRetryDelay() * Math.pow(configuration.getRetryMultiplier(), attempt - 1);
        return (long) Math.min(configuration.getMaxRetryDelay(), delay);
    }

    private void renewLeases() {
        if (inFlight.isEmpty() || dataSource == null) {
            return;
        }
        List<Map.Entry<Long, Integer>> leases = new ArrayList<>(inFlight.entrySet());
        try (Connection connection = dataSource.getConnection();
             PreparedStatement renew = connection.prepareStatement(queue.sql().renewLeases)) {
            renew.setLong(1, configuration().getLeaseTime());
            renew.setArray(2, connection.createArrayOf("bigint", leases.stream().map(Map.Entry::getKey).toArray()));
            renew.setArray(3, connection.createArrayOf("integer", leases.stream().map(Map.Entry::getValue).toArray()));
            renew.executeUpdate();
        } catch (Exception e) {
            LOG.warn("Could not renew the leases of {} message(s) of channel {}: {}", leases.size(),
                    getEndpoint().getChannel(), e.toString());
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
