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
     * Plain PostgreSQL LISTEN/NOTIFY: every listener of a channel gets every notification, payloads are limited
     * to 7999 bytes, and notifications sent while a listener is disconnected are lost.
     */
    NOTIFY
}
