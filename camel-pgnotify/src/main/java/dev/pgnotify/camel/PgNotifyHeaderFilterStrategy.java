package dev.pgnotify.camel;

import org.apache.camel.support.DefaultHeaderFilterStrategy;

/**
 * The default for mode=queue: Camel's own headers (Camel*, org.apache.camel.*) neither travel with a message nor are
 * taken from a stored row, so that, say, a CamelHttpUri set upstream cannot redirect an HTTP call downstream. Every
 * other header travels.
 */
public class PgNotifyHeaderFilterStrategy extends DefaultHeaderFilterStrategy {

    public PgNotifyHeaderFilterStrategy() {
        setOutFilterStartsWith(CAMEL_FILTER_STARTS_WITH);
        setInFilterStartsWith(CAMEL_FILTER_STARTS_WITH);
    }
}
