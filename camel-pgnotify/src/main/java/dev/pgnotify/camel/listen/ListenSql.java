package dev.pgnotify.camel.listen;

import dev.pgnotify.camel.PgIdentifiers;

/**
 * The SQL of LISTEN and NOTIFY: a channel name in LISTEN cannot be bound as a parameter, so it is validated and
 * quoted ({@link PgIdentifiers}); payloads are always bound.
 */
public final class ListenSql {

    /** Sends several notifications in one round trip: (channel, payload) pairs as two text arrays. */
    public static final String NOTIFY_ALL = "SELECT pg_notify(c, p) FROM unnest(?::text[], ?::text[]) AS w(c, p)";

    /** Sends one notification. Parameters: channel, payload. */
    public static final String NOTIFY_ONE = "SELECT pg_notify(?, ?)";

    /** How full the server's queue of notifications not yet read by every listener is, from 0 to 1. */
    public static final String NOTIFICATION_QUEUE_USAGE = "SELECT pg_notification_queue_usage()";

    public static String listen(String channel) {
        return "LISTEN " + PgIdentifiers.quote(channel);
    }

    public static String unlisten(String channel) {
        return "UNLISTEN " + PgIdentifiers.quote(channel);
    }

    private ListenSql() {
    }
}
