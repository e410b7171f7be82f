package dev.pgnotify.examples;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyMode;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's status line, one per queue channel: how many messages were sent (by pgnotify producers, or by the
 * outbox writer), delivered (exchanges of pgnotify consumers that completed), are waiting in the queue table and were
 * dead-lettered. Logged every demo.status-interval and once more when the application stops.
 */
public class DemoStatus extends EventNotifierSupport {

    private static final Logger LOG = LoggerFactory.getLogger("status");

    private final DataSource dataSource;
    private final Map<String, LongAdder> sent = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> delivered = new ConcurrentHashMap<>();

    public DemoStatus(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Counts a message sent without a pgnotify producer (with plain SQL). */
    public void sent(String channel) {
        sent.computeIfAbsent(channel, c -> new LongAdder()).increment();
    }

    @Override
    public boolean isEnabled(CamelEvent event) {
        // Camel emits a sent event only where a notifier also accepts the sending event
        return event instanceof CamelEvent.ExchangeSendingEvent || event instanceof CamelEvent.ExchangeSentEvent
                || event instanceof CamelEvent.ExchangeCompletedEvent;
    }

    @Override
    public void notify(CamelEvent event) {
        if (event instanceof CamelEvent.ExchangeSentEvent sentEvent
                && sentEvent.getEndpoint() instanceof PgNotifyEndpoint endpoint
                && endpoint.getConfiguration().getMode() == PgNotifyMode.QUEUE
                && !sentEvent.getExchange().isFailed()) {
            sent(endpoint.getChannel());
        } else if (event instanceof CamelEvent.ExchangeCompletedEvent completed
                && completed.getExchange().getFromEndpoint() instanceof PgNotifyEndpoint endpoint
                && endpoint.getConfiguration().getMode() == PgNotifyMode.QUEUE
                && !completed.getExchange().isFailed()) {
            delivered.computeIfAbsent(endpoint.getChannel(), c -> new LongAdder()).increment();
        }
    }

    /** Logs one line per channel. */
    public void log() {
        Map<String, Long> waiting;
        Map<String, Long> dead;
        try {
            waiting = countByChannel("message_queue");
            dead = countByChannel("message_queue_dead");
        } catch (SQLException e) {
            // a status that cannot be read says so, rather than showing zeros
            LOG.warn("status unavailable: cannot read the queue tables ({}); sent {}, delivered {} by this application",
                    e.getMessage(), total(sent), total(delivered));
            return;
        }
        TreeSet<String> channels = new TreeSet<>(sent.keySet());
        channels.addAll(delivered.keySet());
        channels.addAll(waiting.keySet());
        channels.addAll(dead.keySet());
        for (String channel : channels) {
            LOG.info(String.format("%-14s sent %6d   delivered %6d   waiting %6d   dead %4d", channel,
                    count(sent, channel), count(delivered, channel), waiting.getOrDefault(channel, 0L),
                    dead.getOrDefault(channel, 0L)));
        }
    }

    @Override
    protected void doStop() throws Exception {
        // the routes have stopped: these counts are final
        LOG.info("final status:");
        log();
        super.doStop();
    }

    private static long count(Map<String, LongAdder> counters, String channel) {
        LongAdder counter = counters.get(channel);
        return counter == null ? 0 : counter.sum();
    }

    private static long total(Map<String, LongAdder> counters) {
        return counters.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** Rows per channel; none when the table does not exist yet (nothing was sent); fails when it cannot be read. */
    private Map<String, Long> countByChannel(String table) throws SQLException {
        Map<String, Long> counts = new TreeMap<>();
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            try (ResultSet exists = statement.executeQuery("SELECT to_regclass('" + table + "') IS NOT NULL")) {
                if (!exists.next() || !exists.getBoolean(1)) {
                    return counts;
                }
            }
            try (ResultSet rs = statement.executeQuery("SELECT channel, count(*) FROM " + table + " GROUP BY channel")) {
                while (rs.next()) {
                    counts.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        return counts;
    }
}
