package dev.pgnotify.camel.notify;

/**
 * The SQL of mode=notify.
 */
final class NotifySql {

    /** Parameters: channel, payload. */
    static final String NOTIFY = "SELECT pg_notify(?, ?)";

    private NotifySql() {
    }
}
