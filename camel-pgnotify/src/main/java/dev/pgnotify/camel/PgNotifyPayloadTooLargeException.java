package dev.pgnotify.camel;

/**
 * A body too large for the endpoint's mode (NOTIFY payloads must stay under 8000 bytes). Nothing was sent.
 */
public class PgNotifyPayloadTooLargeException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final long size;
    private final long limit;

    public PgNotifyPayloadTooLargeException(String message, long size, long limit) {
        super(message);
        this.size = size;
        this.limit = limit;
    }

    /** The size of the rejected body in bytes. */
    public long getSize() {
        return size;
    }

    /** The largest body the endpoint accepts in bytes. */
    public long getLimit() {
        return limit;
    }
}
