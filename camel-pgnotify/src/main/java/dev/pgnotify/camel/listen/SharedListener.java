package dev.pgnotify.camel.listen;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.pgnotify.camel.connection.BoundedCall;
import dev.pgnotify.camel.connection.CallWatchdog;
import org.apache.camel.CamelContext;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One LISTEN connection shared by every consumer of a component on the same database (River and Oban run one
 * notifier per node): it LISTENs on the channels its subscribers need, hands each notification to the subscribers of
 * its channel, and after losing the connection reconnects with a bounded exponential backoff, LISTENs on every
 * channel again, and only then tells every subscriber ({@link Handler#onListening()}), so that queue consumers claim
 * after the LISTEN and miss nothing.
 * <p>
 * Every wait is bounded: it waits for notifications at most {@value #COMMAND_LATENCY_MILLIS} ms at a time (so that a
 * new subscriber's LISTEN waits no longer), checks that the connection answers whenever connectionCheckInterval
 * passes without a sign of life, and each wait and statement is registered with the {@link CallWatchdog}, which
 * closes the connection if the server stops answering in the middle of a message.
 * <p>
 * Longer than a class here should be: one connection's whole life (connect, listen, read, check, reconnect) shares
 * its state, and is kept in one place so that its bounds can be read together.
 */
public final class SharedListener implements Runnable {

    /** What a subscriber does with the connection's events; called on the listener's thread. */
    public interface Handler {

        /** LISTEN on the subscriber's channel has taken effect: after it subscribed and after every reconnect. */
        void onListening();

        void onNotification(PGNotification notification);
    }

    /** A subscriber's registration; {@link #cancel()} ends it. */
    public final class Subscription {

        private final String channel;
        private final Handler handler;
        /** Whether the handler has been told that LISTEN is in effect on the current connection. */
        private volatile boolean told;

        private Subscription(String channel, Handler handler) {
            this.channel = channel;
            this.handler = handler;
        }

        public SharedListener listener() {
            return SharedListener.this;
        }

        /** Ends the subscription; the last one of a listener stops it. */
        public void cancel() {
            listeners.unsubscribe(this);
        }

        String channel() {
            return channel;
        }
    }

    /** The longest a new subscriber's LISTEN waits for the listener's current wait to end. */
    static final long COMMAND_LATENCY_MILLIS = 100;
    /** How long past connectionCheckInterval the connection may stay silent before it counts as unresponsive. */
    static final long RESPONSE_SLACK_MILLIS = 500;

    private static final Logger LOG = LoggerFactory.getLogger(SharedListener.class);

    private final ListenerKey key;
    private final CamelContext camelContext;
    private final CallWatchdog watchdog;
    private final Listeners listeners;
    private final Map<String, List<Subscription>> subscriptions = new LinkedHashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong reconnects = new AtomicLong();

    /** Channels LISTENed on the current connection; written by the listener's thread (and start()). */
    private final Set<String> listening = ConcurrentHashMap.newKeySet();
    /** Set when subscribers come or go, so that the listener's thread updates its LISTENs. */
    private final AtomicBoolean subscriptionsChanged = new AtomicBoolean();
    /** Subscribers waiting for their channel's LISTEN. */
    private final List<CompletableFuture<Void>> pendingListens = new CopyOnWriteArrayList<>();

    private volatile boolean running = true;
    private volatile Connection connection;
    private volatile boolean connected;
    private volatile Exception lastFailure;
    private volatile long lastSignOfLifeNanos = System.nanoTime();
    /** When the connection was last checked (answering, and writable); the listener's thread's. */
    private long lastCheckNanos = System.nanoTime();
    private volatile Instant connectedSince;
    private ExecutorService thread;

    SharedListener(ListenerKey key, CamelContext camelContext, CallWatchdog watchdog, Listeners listeners) {
        this.key = key;
        this.camelContext = camelContext;
        this.watchdog = watchdog;
        this.listeners = listeners;
    }

    /**
     * Connects and LISTENs on the caller's thread, so that a wrong URL or password fails the first consumer's start
     * instead of turning into endless reconnects, registers that consumer, then starts the listener's thread.
     */
    Subscription start(String firstChannel, Handler handler) throws SQLException {
        watchdog.acquire();
        Subscription first = new Subscription(firstChannel, handler);
        try {
            Connection opened = ListenerConnections.openListenerConnection(key);
            try {
                listen(opened, firstChannel);
            } catch (SQLException e) {
                opened.close();
                throw e;
            }
            listening.add(firstChannel);
            synchronized (subscriptions) {
                subscriptions.computeIfAbsent(firstChannel, c -> new CopyOnWriteArrayList<>()).add(first);
            }
            connection = opened;
            connected = true;
            connectedSince = Instant.now();
            lastSignOfLifeNanos = System.nanoTime();
        } catch (SQLException | RuntimeException e) {
            watchdog.release();
            throw e;
        }
        notifyListening(List.of(first));
        thread = camelContext.getExecutorServiceManager().newSingleThreadExecutor(this, "PgNotifyListener");
        thread.execute(this);
        return first;
    }

    /**
     * Adds a subscriber. When the connection is up and the channel not yet LISTENed, waits (at most connectTimeout
     * plus statementTimeout) until the listener has LISTENed on it, so that what is sent once this returns reaches
     * the subscriber; while the connection is down it returns at once (the LISTEN follows with the reconnect).
     */
    Subscription subscribe(String channel, Handler handler, boolean awaitListen) {
        Subscription subscription = new Subscription(channel, handler);
        boolean alreadyListening;
        CompletableFuture<Void> listened = null;
        synchronized (subscriptions) {
            subscriptions.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>()).add(subscription);
            alreadyListening = connected && listening.contains(channel);
            if (!alreadyListening) {
                subscriptionsChanged.set(true);
                if (connected && awaitListen) {
                    listened = new CompletableFuture<>();
                    pendingListens.add(listened);
                }
            }
        }
        if (alreadyListening) {
            notifyListening(List.of(subscription));
        }
        if (listened != null) {
            try {
                listened.get(COMMAND_LATENCY_MILLIS + key.connectTimeoutMillis() + key.statementTimeoutMillis(),
                        TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                LOG.warn("LISTEN on channel {} is not in effect yet; it follows when the connection to {} is back",
                        channel, key);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                pendingListens.remove(listened);
            }
        }
        return subscription;
    }

    /** Removes a subscriber; returns whether it was the last one. */
    boolean unsubscribe(Subscription subscription) {
        synchronized (subscriptions) {
            List<Subscription> ofChannel = subscriptions.get(subscription.channel);
            if (ofChannel != null && ofChannel.remove(subscription) && ofChannel.isEmpty()) {
                subscriptions.remove(subscription.channel);
                subscriptionsChanged.set(true);
            }
            return subscriptions.isEmpty();
        }
    }

    /** Whether the connection is up with its LISTENs in effect. */
    public boolean isListening() {
        return connected;
    }

    /**
     * Whether the connection has shown a sign of life (a notification, or an answer to a check) recently enough:
     * false while a half-open connection has not been noticed yet.
     */
    public boolean isResponsive() {
        long silentMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastSignOfLifeNanos);
        // a check runs once connectionCheckInterval passed in silence and takes a millisecond when the server answers
        return connected && silentMillis <= key.connectionCheckIntervalMillis() + RESPONSE_SLACK_MILLIS;
    }

    /** Why the connection was last lost, or null. */
    public Exception getLastFailure() {
        return lastFailure;
    }

    /** How many times the connection was lost and opened again. */
    public long getReconnects() {
        return reconnects.get();
    }

    /** Since when the current connection is up, or null while it is down. */
    public Instant getConnectedSince() {
        return connected ? connectedSince : null;
    }

    /** The database and user, for messages. */
    public ListenerKey key() {
        return key;
    }

    @Override
    public void run() {
        int failedAttempts = 0;
        while (running) {
            Connection current = connection;
            try {
                if (current == null) {
                    current = ListenerConnections.openListenerConnection(key);
                    connection = current;
                    listening.clear();
                    listenOnEverySubscribedChannel(current);
                    connected = true;
                    connectedSince = Instant.now();
                    lastSignOfLifeNanos = System.nanoTime();
                    reconnects.incrementAndGet();
                    LOG.info("LISTEN connection to {} is back after {} failed attempt(s)", key, failedAttempts);
                    List<Subscription> all = allSubscriptions();
                    all.forEach(subscription -> subscription.told = false);
                    notifyListening(all);
                    pendingListens.forEach(f -> f.complete(null));
                } else if (subscriptionsChanged.get()) {
                    applySubscriptionChanges(current);
                }
                failedAttempts = 0;
                waitForNotifications(current);
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                lastFailure = e;
                failedAttempts++;
                long delay = reconnectDelay(failedAttempts);
                LOG.warn("Lost the LISTEN connection to {} ({}); reconnecting in {} ms (attempt {})", key,
                        e.getMessage(), delay, failedAttempts);
                connected = false;
                closeQuietly(current);
                connection = null;
                awaitStop(delay);
            }
        }
        connected = false;
        closeQuietly(connection);
        connection = null;
    }

    private void listenOnEverySubscribedChannel(Connection current) throws SQLException {
        subscriptionsChanged.set(false);
        for (String channel : subscribedChannels()) {
            listen(current, channel);
            listening.add(channel);
        }
        // channels subscribed while these LISTENs ran are taken up by the next round
    }

    /**
     * LISTEN on channels that gained their first subscriber, UNLISTEN those that lost their last. A channel about to be
     * UNLISTENed leaves {@code listening} under the subscribers' lock, so that a subscriber arriving meanwhile sees it
     * is not listened to and asks for it again.
     */
    private void applySubscriptionChanges(Connection current) throws SQLException {
        List<String> toListen = new ArrayList<>();
        List<String> toUnlisten = new ArrayList<>();
        synchronized (subscriptions) {
            subscriptionsChanged.set(false);
            for (String channel : subscriptions.keySet()) {
                if (!listening.contains(channel)) {
                    toListen.add(channel);
                }
            }
            for (String channel : listening) {
                if (!subscriptions.containsKey(channel)) {
                    toUnlisten.add(channel);
                }
            }
            listening.removeAll(toUnlisten);
        }
        for (String channel : toUnlisten) {
            execute(current, "UNLISTEN " + channel, ListenSql.unlisten(channel));
        }
        for (String channel : toListen) {
            listen(current, channel);
            listening.add(channel);
        }
        List<Subscription> untold = new ArrayList<>();
        for (Subscription subscription : allSubscriptions()) {
            if (!subscription.told && listening.contains(subscription.channel)) {
                untold.add(subscription);
            }
        }
        notifyListening(untold);
        pendingListens.forEach(f -> f.complete(null));
    }

    private void waitForNotifications(Connection current) throws SQLException {
        PGConnection pg = current.unwrap(PGConnection.class);
        long checkInterval = Math.max(1, key.connectionCheckIntervalMillis());
        while (running) {
            long wait = Math.min(COMMAND_LATENCY_MILLIS, checkInterval);
            PGNotification[] notifications;
            try (BoundedCall call = watchdog.begin(this, "waiting for notifications", current,
                    wait + key.statementTimeoutMillis(), null)) {
                notifications = pg.getNotifications((int) wait);
            }
            if (notifications != null && notifications.length > 0) {
                lastSignOfLifeNanos = System.nanoTime();
                dispatch(notifications);
            } else if (System.nanoTime() - lastSignOfLifeNanos >= TimeUnit.MILLISECONDS.toNanos(checkInterval)) {
                checkConnection(current);
                lastSignOfLifeNanos = System.nanoTime();
                lastCheckNanos = lastSignOfLifeNanos;
            }
            if (System.nanoTime() - lastCheckNanos >= TimeUnit.MILLISECONDS.toNanos(checkInterval)) {
                // a stream of notifications is no proof that this is still the primary: a demoted or read-only old
                // primary relays the NOTIFYs of the sessions left on it, while the new primary's go unheard
                checkConnection(current);
                lastCheckNanos = System.nanoTime();
            }
            if (subscriptionsChanged.get()) {
                return;
            }
        }
    }

    private void checkConnection(Connection current) throws SQLException {
        if (!running) {
            return;
        }
        boolean valid;
        try (BoundedCall call = watchdog.begin(this, "checking the LISTEN connection", current,
                checkSeconds() * 1000L + key.statementTimeoutMillis(), null)) {
            valid = current.isValid(checkSeconds());
            if (valid) {
                // a server that answers but became a standby or read-only (the old primary after a failover) sends
                // this connection nothing more: lost, as a dead one is, so that the reconnect finds the primary
                ListenerConnections.requireWritable(current, key);
            }
        }
        if (!valid) {
            throw new SQLException("the connection did not answer within " + checkSeconds() + " s");
        }
    }

    private int checkSeconds() {
        return (int) Math.max(1, TimeUnit.MILLISECONDS.toSeconds(key.connectionCheckIntervalMillis()));
    }

    private void dispatch(PGNotification[] notifications) {
        for (PGNotification notification : notifications) {
            for (Subscription subscription : subscriptionsOf(notification.getName())) {
                try {
                    subscription.handler.onNotification(notification);
                } catch (RuntimeException e) {
                    LOG.warn("A subscriber of channel {} failed on a notification: {}", notification.getName(),
                            e.toString());
                }
            }
        }
    }

    private void notifyListening(List<Subscription> toNotify) {
        for (Subscription subscription : toNotify) {
            subscription.told = true;
            try {
                subscription.handler.onListening();
            } catch (RuntimeException e) {
                LOG.warn("A subscriber of channel {} failed after LISTEN: {}", subscription.channel, e.toString());
            }
        }
    }

    private Set<String> subscribedChannels() {
        synchronized (subscriptions) {
            return new HashSet<>(subscriptions.keySet());
        }
    }

    private List<Subscription> subscriptionsOf(String channel) {
        synchronized (subscriptions) {
            List<Subscription> ofChannel = subscriptions.get(channel);
            return ofChannel != null ? ofChannel : List.of();
        }
    }

    private List<Subscription> allSubscriptions() {
        synchronized (subscriptions) {
            List<Subscription> all = new ArrayList<>();
            subscriptions.values().forEach(all::addAll);
            return all;
        }
    }

    private void listen(Connection current, String channel) throws SQLException {
        execute(current, "LISTEN " + channel, ListenSql.listen(channel));
    }

    private void execute(Connection current, String what, String sql) throws SQLException {
        try (BoundedCall call = watchdog.begin(this, what, current, key.statementTimeoutMillis(), null);
             Statement statement = current.createStatement()) {
            statement.execute(sql);
        }
    }

    long reconnectDelay(int failedAttempts) {
        return reconnectDelay(key.reconnectDelayMillis(), key.maxReconnectDelayMillis(), failedAttempts);
    }

    /** Doubles from the first delay after each failed attempt, up to the maximum. */
    public static long reconnectDelay(long reconnectDelay, long maxReconnectDelay, int failedAttempts) {
        long initial = Math.max(1, reconnectDelay);
        long max = Math.max(initial, maxReconnectDelay);
        int doublings = Math.min(failedAttempts - 1, 30);
        return Math.min(max, initial << doublings);
    }

    /**
     * Stops the loop: a wait in progress is cut short by aborting the connection, a backoff by the latch; then the
     * thread is stopped.
     */
    void stop() {
        running = false;
        stopped.countDown();
        pendingListens.forEach(f -> f.complete(null));
        watchdog.abortCallsOf(this);
        Connection current = connection;
        if (current != null) {
            CallWatchdog.abortQuietly(current);
        }
        if (thread != null) {
            camelContext.getExecutorServiceManager().shutdownGraceful(thread);
            thread = null;
        }
        closeQuietly(connection);
        connection = null;
        connected = false;
        watchdog.release();
    }

    private void awaitStop(long millis) {
        try {
            stopped.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.trace("Closing a LISTEN connection failed", e);
            }
        }
    }
}
