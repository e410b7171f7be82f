package dev.pgnotify.camel;

import java.util.Set;

import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultHeaderFilterStrategy;

/**
 * The default for mode=queue: Camel's own headers (Camel*, org.apache.camel.*) neither travel with a message nor are
 * taken from a stored row, so that, say, a CamelHttpUri set upstream cannot redirect an HTTP call downstream. The
 * exceptions describe the payload rather than a transport, so that a file keeps its name across the queue:
 * CamelFileName, CamelFileNameOnly and CamelFileLastModified. Every other header travels.
 */
public class PgNotifyHeaderFilterStrategy extends DefaultHeaderFilterStrategy {

    /** Camel headers that describe the payload itself. */
    public static final Set<String> PAYLOAD_HEADERS
            = Set.of(Exchange.FILE_NAME, Exchange.FILE_NAME_ONLY, Exchange.FILE_LAST_MODIFIED);

    public PgNotifyHeaderFilterStrategy() {
        setOutFilterStartsWith(CAMEL_FILTER_STARTS_WITH);
        setInFilterStartsWith(CAMEL_FILTER_STARTS_WITH);
    }

    @Override
    public boolean applyFilterToCamelHeaders(String headerName, Object headerValue, Exchange exchange) {
        return !PAYLOAD_HEADERS.contains(headerName) && super.applyFilterToCamelHeaders(headerName, headerValue, exchange);
    }

    @Override
    public boolean applyFilterToExternalHeaders(String headerName, Object headerValue, Exchange exchange) {
        return !PAYLOAD_HEADERS.contains(headerName)
                && super.applyFilterToExternalHeaders(headerName, headerValue, exchange);
    }
}
