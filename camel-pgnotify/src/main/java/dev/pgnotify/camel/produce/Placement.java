package dev.pgnotify.camel.produce;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.util.Collection;
import java.util.Date;
import java.util.Locale;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import org.apache.camel.Message;
import org.apache.camel.util.TimeUtils;

/** A message's key, expiry, deduplication, due time and priority, from its headers and the endpoint's options. */
record Placement(String key, Timestamp expiresAt, Long timeToLive, String deduplicationId,
                 long deduplicationWindow, Timestamp deliverAt, Long delay, int priority) {

    static final Placement NONE = new Placement(null, null, null, null, 0, null, null, 0);

    /** In how many milliseconds (by this JVM's clock) the message falls due: 0 when it is due at once. */
    long dueInMillis() {
        if (deliverAt != null) {
            return Math.max(0, deliverAt.getTime() - System.currentTimeMillis());
        }
        return delay != null ? Math.max(0, delay) : 0;
    }

    /**
     * The message's key, expiry, deduplication, due time and priority; only mode=queue has all of them (mode=topic has
     * keys), so elsewhere they are refused rather than ignored.
     */
    static Placement of(Message message, PgNotifyConfiguration configuration, String channel, boolean queueFeatures) {
        String key = message.getHeader(PgNotifyConstants.KEY, String.class);
        Object expiresAt = message.getHeader(PgNotifyConstants.EXPIRES_AT);
        String deduplicationId = message.getHeader(PgNotifyConstants.DEDUPLICATION_ID, String.class);
        Object deliverAt = message.getHeader(PgNotifyConstants.DELIVER_AT);
        Object delay = message.getHeader(PgNotifyConstants.DELAY);
        Object priority = message.getHeader(PgNotifyConstants.PRIORITY);
        long timeToLive = configuration.getTimeToLive();
        if (!queueFeatures) {
            if (expiresAt != null || deduplicationId != null || deliverAt != null || delay != null
                || priority != null || timeToLive > 0) {
                throw new IllegalArgumentException(
                        "pgnotify:" + channel + ": " + PgNotifyConstants.EXPIRES_AT + ", "
                                                   + PgNotifyConstants.DEDUPLICATION_ID + ", "
                                                   + PgNotifyConstants.DELAY + ", " + PgNotifyConstants.DELIVER_AT
                                                   + ", " + PgNotifyConstants.PRIORITY + " and timeToLive are"
                                                   + " supported in mode=queue only, not mode="
                                                   + configuration.getMode().name().toLowerCase(Locale.ROOT));
            }
            return key == null ? Placement.NONE : new Placement(key, null, null, null, 0, null, null, 0);
        }
        if (deduplicationId != null && configuration.isBatch()
            && message.getBody() instanceof Collection<?>) {
            throw new IllegalArgumentException(
                    "pgnotify:" + channel + ": " + PgNotifyConstants.DEDUPLICATION_ID
                                               + " names one message, and batch=true sends several: send them one"
                                               + " by one, each with its own id");
        }
        return new Placement(key, expiresAt == null ? null : toTimestamp(PgNotifyConstants.EXPIRES_AT, expiresAt),
                timeToLive > 0 ? timeToLive : null, deduplicationId,
                configuration.getDeduplicationWindow(),
                deliverAt == null ? null : toTimestamp(PgNotifyConstants.DELIVER_AT, deliverAt),
                delay == null ? null : toMillis(delay), priority == null ? 0 : toPriority(priority));
    }

    private static long toMillis(Object delay) {
        if (delay instanceof Duration duration) {
            return duration.toMillis();
        } else if (delay instanceof Number millis) {
            return millis.longValue();
        }
        try {
            return TimeUtils.toMilliSeconds(delay.toString().trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(PgNotifyConstants.DELAY + " must be a delay (milliseconds as a number, a"
                                               + " java.time.Duration, or text such as 5000, 30s, 1h30m or PT5M),"
                                               + " not '" + delay + "'", e);
        }
    }

    private static int toPriority(Object priority) {
        long value;
        try {
            value = priority instanceof Number number ? number.longValue() : Long.parseLong(priority.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PgNotifyConstants.PRIORITY + " must be an integer from 0 up, not '"
                                               + priority + "'", e);
        }
        if (value < 0 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(PgNotifyConstants.PRIORITY + " must be an integer from 0 up (higher"
                                               + " first, 0 the default), not " + value);
        }
        return (int) value;
    }

    private static Timestamp toTimestamp(String header, Object value) {
        if (value instanceof Instant instant) {
            return Timestamp.from(instant);
        } else if (value instanceof Date date) {
            return new Timestamp(date.getTime());
        } else if (value instanceof Number millis) {
            return new Timestamp(millis.longValue());
        } else if (value instanceof TemporalAccessor temporal) {
            return Timestamp.from(Instant.from(temporal));
        }
        try {
            return Timestamp.from(OffsetDateTime.parse(value.toString().trim()).toInstant());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(header + " must be an instant (java.time.Instant, java.util.Date, epoch"
                                               + " milliseconds or ISO-8601 text such as 2026-11-26T10:15:30Z), not '"
                                               + value + "'", e);
        }
    }

    /**
     * Binds the key, expiry, deduplication id, due time, priority and deduplication window at {@code index} on;
     * returns the next index.
     */
    static int bind(PreparedStatement statement, int index, Placement placement) throws SQLException {
        statement.setString(index, placement.key());
        statement.setTimestamp(index + 1, placement.expiresAt());
        setLong(statement, index + 2, placement.timeToLive());
        statement.setString(index + 3, placement.deduplicationId());
        statement.setTimestamp(index + 4, placement.deliverAt());
        setLong(statement, index + 5, placement.delay());
        statement.setInt(index + 6, placement.priority());
        statement.setString(index + 7, Long.toString(placement.deduplicationWindow()));
        return index + 8;
    }

    static void setLong(PreparedStatement statement, int index, Long value) throws SQLException {
        if (value != null) {
            statement.setLong(index, value);
        } else {
            statement.setNull(index, Types.BIGINT);
        }
    }
}
