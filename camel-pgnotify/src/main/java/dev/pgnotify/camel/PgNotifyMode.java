package dev.pgnotify.camel;

/**
 * How a {@code pgnotify:} endpoint moves messages.
 */
public enum PgNotifyMode {

    /**
     * Durable: every message is a row of the queue table; NOTIFY only wakes consumers. Nothing is lost while
     * consumers are away, bodies may be of any size, and consumers of a channel share its messages.
     */
    QUEUE,

    /**
     * Durable broadcast: every message is a row of an insert-only log; every consumer group receives every message,
     * the consumers of a group share them, and a group catches up on what was published while it was away. The log
     * is emptied partition by partition once no group needs it (retention, maxRetention).
     */
    TOPIC,

    /**
     * Plain PostgreSQL LISTEN/NOTIFY: every listener of a channel gets every notification, payloads are limited
     * to 7999 bytes, and notifications sent while a listener is disconnected are lost.
     */
    NOTIFY
}
