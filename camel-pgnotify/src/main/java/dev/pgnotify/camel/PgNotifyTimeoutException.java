package dev.pgnotify.camel;

import java.sql.SQLTransientException;

/**
 * A database call of pgnotify did not complete within its bound (statementTimeout, or connectTimeout while getting a
 * connection), so its connection was closed: the server may be unreachable, the connection half-open, or the server
 * overloaded. Transient: the same call may succeed on a new connection, so Camel's redelivery can retry it. For a
 * producer, the message may or may not have been stored (the commit may have reached the server while its answer did
 * not come back): delivery is at least once.
 */
public class PgNotifyTimeoutException extends SQLTransientException {

    private static final long serialVersionUID = 1L;

    private final long timeoutMillis;

    public PgNotifyTimeoutException(String message, long timeoutMillis, Throwable cause) {
        super(message, "57014", cause);
        this.timeoutMillis = timeoutMillis;
    }

    /** The bound that was exceeded, in milliseconds. */
    public long getTimeoutMillis() {
        return timeoutMillis;
    }
}
