package dev.pgnotify.camel.listen;

import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.pgnotify.camel.connection.CallWatchdog;
import org.apache.camel.CamelContext;

/**
 * The LISTEN connections of a component: one {@link SharedListener} per database and listener settings, shared by
 * every consumer that subscribes, started by the first and stopped with the last. N consumer routes on one database
 * hold one LISTEN connection, not N.
 */
public final class Listeners {

    private final CamelContext camelContext;
    private final CallWatchdog watchdog;
    /** A second subscriber waits this long beyond a connect's own bounds for the first one's connect. */
    private static final long OTHER_START_GRACE_MILLIS = 6000;
    /** How many other subscribers' connects a subscriber waits for before it gives up. */
    private static final int MAX_ROUNDS = 3;

    private final Map<ListenerKey, SharedListener> listeners = new HashMap<>();
    /** Listeners being started, outside the lock, by their first subscriber. */
    private final Map<ListenerKey, CompletableFuture<SharedListener>> starting = new HashMap<>();

    public Listeners(CamelContext camelContext, CallWatchdog watchdog) {
        this.camelContext = camelContext;
        this.watchdog = watchdog;
    }

    /**
     * Subscribes to a channel on the listener for this key, starting it (and connecting on the caller's thread) if it
     * is the first subscriber. The connect happens outside this object's lock: other routes start and stop meanwhile
     * (a LISTEN connection to an unreachable server takes up to connectTimeout); a second subscriber of the same key
     * waits for the first one's connect, within its bounds, then shares it (or, when it failed, tries itself).
     *
     * @param awaitListen whether to wait, within the listener's bounds, until the LISTEN is in effect (notify mode: what
     *                    is sent after the consumer started must reach it); queue consumers claim anyway
     */
    public SharedListener.Subscription subscribe(
            ListenerKey key, String channel, SharedListener.Handler handler, boolean awaitListen)
            throws SQLException {
        for (int round = 1; round <= MAX_ROUNDS; round++) {
            SharedListener listener;
            CompletableFuture<SharedListener> other = null;
            CompletableFuture<SharedListener> mine = null;
            synchronized (this) {
                listener = listeners.get(key);
                if (listener == null) {
                    other = starting.get(key);
                    if (other == null) {
                        mine = new CompletableFuture<>();
                        starting.put(key, mine);
                    }
                }
            }
            if (listener != null) {
                return listener.subscribe(channel, handler, awaitListen);
            }
            if (mine != null) {
                return startFirst(key, channel, handler, mine);
            }
            awaitOtherStart(key, other);
        }
        throw new SQLException("Cannot start the LISTEN connection to " + key + ": the attempts of " + MAX_ROUNDS
                               + " other consumers to start it failed (see their errors)", "08001");
    }

    private SharedListener.Subscription startFirst(ListenerKey key, String channel, SharedListener.Handler handler,
                                                   CompletableFuture<SharedListener> mine)
            throws SQLException {
        SharedListener created = new SharedListener(key, camelContext, watchdog, this);
        try {
            SharedListener.Subscription first = created.start(channel, handler);
            synchronized (this) {
                listeners.put(key, created);
                starting.remove(key, mine);
            }
            mine.complete(created);
            return first;
        } catch (SQLException | RuntimeException e) {
            synchronized (this) {
                starting.remove(key, mine);
            }
            mine.completeExceptionally(e);
            throw e;
        }
    }

    /** Waits for another subscriber's connect to the same database; returns when it ended, however. */
    private static void awaitOtherStart(ListenerKey key, CompletableFuture<SharedListener> other)
            throws SQLException {
        long bound = key.connectTimeoutMillis() + key.statementTimeoutMillis() + OTHER_START_GRACE_MILLIS;
        try {
            other.get(bound, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // it failed: this subscriber tries for itself
        } catch (TimeoutException e) {
            throw new SQLException("Another consumer's LISTEN connection to " + key + " has been connecting for more"
                                   + " than " + bound + " ms", "08001", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("Interrupted while waiting for the LISTEN connection to " + key, "08001", e);
        }
    }

    void unsubscribe(SharedListener.Subscription subscription) {
        SharedListener listener = subscription.listener();
        boolean last;
        synchronized (this) {
            last = listener.unsubscribe(subscription) && listeners.remove(listener.key()) == listener;
        }
        if (last) {
            // outside the lock: stopping waits for the listener's thread
            listener.stop();
        }
    }

    /** The component's shared listeners now, one per database and listener settings. */
    public synchronized List<SharedListener> stream() {
        return List.copyOf(listeners.values());
    }

    /** How many LISTEN connections the component holds. */
    public synchronized int size() {
        return listeners.size();
    }

    public void stopAll() {
        List<SharedListener> stopping;
        synchronized (this) {
            stopping = List.copyOf(listeners.values());
            listeners.clear();
        }
        stopping.forEach(SharedListener::stop);
    }
}
