package dev.pgnotify.camel;

import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;

/**
 * A body too large for the endpoint's mode (NOTIFY payloads must stay under 8000 bytes). Nothing was sent.
 */
public class PgNotifyPayloadTooLargeException extends CamelExchangeException {

    private static final long serialVersionUID = 1L;

    private final long size;
    private final long limit;

    public PgNotifyPayloadTooLargeException(String message, Exchange exchange, long size, long limit) {
        super(message, exchange);
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
