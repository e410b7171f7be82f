package dev.pgnotify.camel.browse;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyMode;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.connection.EndpointConnections;
import dev.pgnotify.camel.connection.ReadTransaction;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.spi.BrowsableEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An endpoint's messages as exchanges for Camel's browsing tools: the waiting messages (option browse=waiting) or the
 * dead letters (browse=deadLetters), at most browseLimit of them, read on the caller's thread on a pooled connection in
 * a read-only transaction bounded by a statement timeout. A database that cannot be read shows nothing (logged): one
 * unreachable channel must not fail the browse console for every other endpoint.
 */
public final class EndpointBrowser {

    /** Values of the browse option. */
    public static final String WAITING = "waiting";
    public static final String DEAD_LETTERS = "deadLetters";

    /** The longest a browse may take, server-side: it gives up rather than load the database. */
    static final long BROWSE_TIMEOUT_MILLIS = 3000;

    private static final Logger LOG = LoggerFactory.getLogger(EndpointBrowser.class);

    /** What the channel's mode provides: its reads on this database, its schema resolved within the bound. */
    @FunctionalInterface
    public interface Browses {
        ChannelBrowse on(Database database, long boundMillis) throws SQLException;
    }

    private final Endpoint endpoint;
    private final String channel;
    private final PgNotifyConfiguration configuration;
    private final EndpointConnections connections;
    private final Browses browses;

    public EndpointBrowser(Endpoint endpoint, String channel, PgNotifyConfiguration configuration,
                           EndpointConnections connections, Browses browses) {
        this.endpoint = endpoint;
        this.channel = channel;
        this.configuration = configuration;
        this.connections = connections;
        this.browses = browses;
    }

    /** Rejects a browse option that cannot work, at the endpoint's start. */
    public void validate() {
        if (!WAITING.equals(configuration.getBrowse()) && !deadLetters()) {
            throw new IllegalArgumentException("pgnotify:" + channel + ": browse must be waiting or deadLetters, not "
                                               + configuration.getBrowse());
        }
        if (configuration.getBrowseLimit() < 1) {
            throw new IllegalArgumentException("pgnotify:" + channel + ": browseLimit must be at least 1, not "
                                               + configuration.getBrowseLimit());
        }
    }

    /**
     * Adds the dead letters' endpoint of a consumer's endpoint to the context (the same options, browse=deadLetters),
     * where Hawtio, camel browse and the browse console list the endpoints they show; mode=notify has none.
     */
    public void addDeadLettersEndpoint(CamelContext context, String consumerUri) {
        // a URI that names its browse option already is left alone (the option cannot be given twice)
        if (configuration.getMode() != PgNotifyMode.NOTIFY && !deadLetters() && !consumerUri.contains("browse=")) {
            context.getEndpoint(consumerUri + (consumerUri.contains("?") ? "&" : "?") + "browse=" + DEAD_LETTERS);
        }
    }

    /** The size and the first and last timestamps of one bounded browse (no count beyond the limit). */
    public BrowsableEndpoint.BrowseStatus status(int limit) {
        List<Exchange> exchanges = browse(limit, null);
        return exchanges.isEmpty() ? new BrowsableEndpoint.BrowseStatus(0, 0, 0)
                : new BrowsableEndpoint.BrowseStatus(exchanges.size(), timestamp(exchanges.get(0)),
                        timestamp(exchanges.get(exchanges.size() - 1)));
    }

    private static long timestamp(Exchange exchange) {
        return exchange.getMessage().getHeader(Exchange.MESSAGE_TIMESTAMP, 0L, Long.class);
    }

    /** Whether this endpoint shows dead letters rather than waiting messages. */
    public boolean deadLetters() {
        return DEAD_LETTERS.equals(configuration.getBrowse());
    }

    /**
     * At most {@code limit} (and never more than browseLimit) messages, oldest first, those the filter accepts among
     * them; empty in mode=notify, which stores nothing.
     */
    public List<Exchange> browse(int limit, Predicate<Exchange> filter) {
        int bound = limit > 0 ? Math.min(limit, configuration.getBrowseLimit()) : configuration.getBrowseLimit();
        if (configuration.getMode() == PgNotifyMode.NOTIFY || bound <= 0) {
            return List.of();
        }
        List<BrowsedMessage> rows;
        ChannelBrowse browse;
        try {
            Database database = connections.acquireDatabase();
            try {
                browse = browses.on(database, BROWSE_TIMEOUT_MILLIS);
                rows = database.call(this, "browsing the channel", BROWSE_TIMEOUT_MILLIS + 1000,
                        connection -> ReadTransaction.run(connection, BROWSE_TIMEOUT_MILLIS,
                                read -> deadLetters() ? browse.deadLetters(read, bound) : browse.waiting(read, bound)));
            } finally {
                connections.releaseDatabase();
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warn("Could not browse pgnotify:{}: {}", channel, e.getMessage());
            LOG.debug("Browsing pgnotify:{} failed", channel, e);
            return List.of();
        }
        List<Exchange> exchanges = new ArrayList<>(rows.size());
        for (BrowsedMessage row : rows) {
            Exchange exchange = exchangeOf(row, browse);
            if (filter == null || filter.test(exchange)) {
                exchanges.add(exchange);
            }
        }
        return exchanges;
    }

    /** The message as a consumer would receive it, with what the table adds (attempts and last error, if any). */
    private Exchange exchangeOf(BrowsedMessage row, ChannelBrowse browse) {
        Exchange exchange = endpoint.createExchange();
        Message in = exchange.getMessage();
        in.setHeaders(browse.codec().decodeHeaders(row.headers(), exchange));
        in.setMessageId(Long.toString(row.id()));
        in.setHeader(PgNotifyConstants.MESSAGE_ID, row.id());
        in.setHeader(PgNotifyConstants.CHANNEL, channel);
        in.setHeader(PgNotifyConstants.CREATED_AT, row.createdAt().toInstant());
        in.setHeader(Exchange.MESSAGE_TIMESTAMP, row.createdAt().getTime());
        String group = row.group() != null ? row.group()
                : configuration.getMode() == PgNotifyMode.TOPIC ? configuration.getGroup() : null;
        if (group != null) {
            in.setHeader(PgNotifyConstants.GROUP, group);
        }
        if (row.key() != null) {
            in.setHeader(PgNotifyConstants.KEY, row.key());
        }
        if (row.attempts() != null) {
            in.setHeader(PgNotifyConstants.ATTEMPT, row.attempts());
        }
        if (row.lastError() != null) {
            in.setHeader(PgNotifyConstants.LAST_ERROR, row.lastError());
        }
        in.setBody(row.body());
        return exchange;
    }
}
