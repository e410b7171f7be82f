package dev.pgnotify.camel.connection;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds every database call pgnotify makes. A call registers while it runs; every {@value #CHECK_PERIOD_MILLIS} ms
 * one thread of the component looks at the calls in progress and ends those past their deadline: a call that holds a
 * connection has that connection aborted (pgjdbc closes its socket, so a read or write blocked on a half-open
 * connection fails at once), a call still waiting for a connection has its thread interrupted (pools wait
 * interruptibly). Neither a socket timeout nor TCP keepalive can do this alone: a socket timeout does not bound a write
 * blocked on a full send buffer, keepalive probes are answered by any proxy in between, and neither applies to a
 * DataSource the user configured.
 * <p>
 * One per component, started by its first user and stopped with its last ({@link #acquire()}, {@link #release()}).
 */
public final class CallWatchdog {

    static final long CHECK_PERIOD_MILLIS = 100;

    private static final Logger LOG = LoggerFactory.getLogger(CallWatchdog.class);

    private final CamelContext camelContext;
    private final Set<BoundedCall> calls = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService checker;
    private int users;

    public CallWatchdog(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    /** Starts the watchdog's thread if it is not running; every call must be matched by {@link #release()}. */
    public synchronized void acquire() {
        if (users++ == 0) {
            checker = camelContext.getExecutorServiceManager().newSingleThreadScheduledExecutor(this,
                    "PgNotifyWatchdog");
            checker.scheduleWithFixedDelay(this::check, CHECK_PERIOD_MILLIS, CHECK_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    public synchronized void release() {
        if (users > 0 && --users == 0) {
            camelContext.getExecutorServiceManager().shutdownNow(checker);
            checker = null;
        }
    }

    /** Stops the thread whatever the users: the component stops. */
    public synchronized void stop() {
        users = 0;
        if (checker != null) {
            camelContext.getExecutorServiceManager().shutdownNow(checker);
            checker = null;
        }
    }

    /**
     * Registers a call of the current thread: it may wait {@code acquireTimeoutMillis} for a connection, then, once
     * {@link BoundedCall#attach(Connection)} gave it one, {@code timeoutMillis} for its statements.
     *
     * @param owner     whose call it is (a consumer, a producer), for {@link #abortCallsOf(Object)}
     * @param onExpired called (on the watchdog's thread) with the connection a call held when it expired, or null
     */
    public BoundedCall begin(
            Object owner, String what, long acquireTimeoutMillis, long timeoutMillis, Consumer<Connection> onExpired) {
        BoundedCall call = new BoundedCall(this, owner, what, acquireTimeoutMillis, timeoutMillis, onExpired);
        calls.add(call);
        return call;
    }

    /**
     * Registers a call of the current thread on a connection it holds already: {@code timeoutMillis} for its
     * statements, from now. The call is attached before the watchdog can see it. (Registered first and attached after,
     * with no time allowed to wait for a connection, a call was overdue the moment the watchdog looked: a look in
     * between ended it, interrupting its thread, and the attach then aborted the connection. Seen as a LISTEN
     * connection lost under load, "This connection has been closed.", and in mode=notify the messages sent while it
     * reconnected.)
     *
     * @param onExpired called (on the watchdog's thread) with the connection when the call expired, or null
     */
    public BoundedCall begin(
            Object owner, String what, Connection connection, long timeoutMillis, Consumer<Connection> onExpired) {
        BoundedCall call = new BoundedCall(this, owner, what, 0, timeoutMillis, onExpired);
        call.attach(connection);
        calls.add(call);
        return call;
    }

    void ended(BoundedCall call) {
        calls.remove(call);
    }

    /** Ends every call of this owner now, as if its deadline had passed: used when the owner stops. */
    public void abortCallsOf(Object owner) {
        for (BoundedCall call : calls) {
            if (call.owner() == owner) {
                call.expire("its consumer or producer is stopping");
            }
        }
    }

    /** The calls of this owner in progress now. */
    public int callsInProgress(Object owner) {
        int count = 0;
        for (BoundedCall call : calls) {
            if (call.owner() == owner) {
                count++;
            }
        }
        return count;
    }

    /** One look at the calls in progress, as the watchdog's thread takes every {@value #CHECK_PERIOD_MILLIS} ms. */
    void check() {
        long now = System.nanoTime();
        for (BoundedCall call : calls) {
            try {
                if (call.isOverdue(now)) {
                    call.expire(null);
                }
            } catch (RuntimeException e) {
                LOG.debug("Ending an overdue call failed", e);
            }
        }
    }

    public static void abortQuietly(Connection connection) {
        try {
            // pgjdbc closes the socket at once, without taking the connection's lock that the blocked thread holds
            connection.abort(Runnable::run);
        } catch (SQLException | RuntimeException e) {
            LOG.debug("Aborting a connection failed", e);
        }
    }
}
