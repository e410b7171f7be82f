package dev.pgnotify.camel.connection;

import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One database call in progress, registered with the {@link CallWatchdog} from {@link CallWatchdog#begin} until
 * {@link #close()}. While it waits for a connection its deadline is the acquire timeout; once it has one
 * ({@link #attach(Connection)}), the statement timeout from then on.
 */
public final class BoundedCall implements AutoCloseable {

    private final CallWatchdog watchdog;
    private final Object owner;
    private final String what;
    private final Thread thread = Thread.currentThread();
    private final long startNanos = System.nanoTime();
    private final long timeoutMillis;
    private final long acquireTimeoutMillis;
    private final Consumer<Connection> onExpired;

    private long deadlineNanos;
    private Connection connection;
    private boolean expired;
    private boolean ended;
    private boolean interrupted;
    private String expiryReason;

    BoundedCall(CallWatchdog watchdog, Object owner, String what, long acquireTimeoutMillis, long timeoutMillis,
                Consumer<Connection> onExpired) {
        this.watchdog = watchdog;
        this.owner = owner;
        this.what = what;
        this.acquireTimeoutMillis = acquireTimeoutMillis;
        this.timeoutMillis = timeoutMillis;
        this.onExpired = onExpired;
        this.deadlineNanos = startNanos + TimeUnit.MILLISECONDS.toNanos(acquireTimeoutMillis);
    }

    /** The call now holds this connection; its statements have the statement timeout from now on. */
    public synchronized void attach(Connection connection) {
        this.connection = connection;
        this.deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        if (expired) {
            // expired while the pool was handing the connection over
            CallWatchdog.abortQuietly(connection);
        }
    }

    Object owner() {
        return owner;
    }

    public String what() {
        return what;
    }

    public Thread thread() {
        return thread;
    }

    /** How long the call has been running, in milliseconds. */
    public long elapsedMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** The bound the call has, or had when it expired: the statement timeout once it holds a connection. */
    public synchronized long timeoutMillis() {
        return connection != null ? timeoutMillis : acquireTimeoutMillis;
    }

    public synchronized boolean holdsConnection() {
        return connection != null;
    }

    synchronized boolean isOverdue(long nowNanos) {
        return !ended && !expired && nowNanos - deadlineNanos > 0;
    }

    /** Whether the watchdog ended the call (its deadline passed, or its owner stopped). */
    public synchronized boolean isExpired() {
        return expired;
    }

    /** Why the call was ended early when its owner stopped it, or null when its deadline passed. */
    public synchronized String expiryReason() {
        return expiryReason;
    }

    /** Ends the call now: aborts its connection, or interrupts its thread while it waits for one. */
    void expire(String reason) {
        Connection held;
        synchronized (this) {
            if (ended || expired) {
                return;
            }
            expired = true;
            expiryReason = reason;
            held = connection;
            if (held == null) {
                interrupted = true;
                thread.interrupt();
            }
        }
        if (held != null) {
            CallWatchdog.abortQuietly(held);
        }
        if (onExpired != null && reason == null) {
            onExpired.accept(held);
        }
    }

    @Override
    public void close() {
        boolean clearInterrupt;
        synchronized (this) {
            ended = true;
            clearInterrupt = interrupted;
        }
        watchdog.ended(this);
        if (clearInterrupt && Thread.currentThread() == thread) {
            // the interrupt was ours, to stop a wait for a connection: the caller's thread must not keep it
            Thread.interrupted();
        }
    }
}
