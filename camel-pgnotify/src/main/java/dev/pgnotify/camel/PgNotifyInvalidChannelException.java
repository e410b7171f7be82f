package dev.pgnotify.camel;

/**
 * A channel name PostgreSQL would not use exactly as written (empty, too long, or with characters a channel has
 * no business containing). Thrown when the endpoint is created, before any SQL runs.
 */
public class PgNotifyInvalidChannelException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public PgNotifyInvalidChannelException(String message) {
        super(message);
    }
}
