package dev.pgnotify.camel.support;

import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;

/**
 * The LISTEN connections of a component: one {@link SharedListener} per database and listener settings, shared by
 * every consumer that subscribes, started by the first and stopped with the last. N consumer routes on one database
 * hold one LISTEN connection, not N.
 */
public final class Listeners {

    private final CamelContext camelContext;
    private final CallWatchdog watchdog;
    private final Map<ListenerKey, SharedListener> listeners = new HashMap<>();

    public Listeners(CamelContext camelContext, CallWatchdog watchdog) {
        this.camelContext = camelContext;
        this.watchdog = watchdog;
    }

    /**
     * Subscribes to a channel on the listener for this key, starting it (and connecting on the caller's thread) if it
     * is the first subscriber.
     *
     * @param awaitListen whether to wait, within the listener's bounds, until the LISTEN is in effect (notify mode: what
     *                    is sent after the consumer started must reach it); queue consumers claim anyway
     */
    public synchronized SharedListener.Subscription subscribe(
            ListenerKey key, String channel, SharedListener.Handler handler, boolean awaitListen)
            throws SQLException {
        SharedListener listener = listeners.get(key);
        if (listener == null) {
            listener = new SharedListener(key, camelContext, watchdog, this);
            SharedListener.Subscription first = listener.start(channel, handler);
            listeners.put(key, listener);
            return first;
        }
        return listener.subscribe(channel, handler, awaitListen);
    }

    synchronized void unsubscribe(SharedListener.Subscription subscription) {
        SharedListener listener = subscription.listener();
        if (listener.unsubscribe(subscription) && listeners.remove(listener.key()) == listener) {
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

    public synchronized void stopAll() {
        listeners.values().forEach(SharedListener::stop);
        listeners.clear();
    }
}
