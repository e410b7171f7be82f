package dev.pgnotify.camel;

import java.time.Instant;

/**
 * How a channel's messages stand, as measured in the database (all applications' consumers together): for
 * mode=queue, one per channel; for mode=topic, one per consumer group of the channel. Counts stop at
 * {@link #COUNT_CAP} so that measuring stays cheap on a huge backlog; {@link #capped()} says when one did.
 *
 * @param channel         the channel
 * @param group           mode=topic: the consumer group; null in mode=queue
 * @param waiting         mode=queue: messages due now, not claimed; mode=topic: messages the group has not processed
 *                        yet (its lag, in flight and retrying ones included)
 * @param inFlight        messages claimed by a consumer, lease running
 * @param retrying        messages that failed and wait for their next delivery
 * @param delayed         mode=queue: messages sent with a delay that are not due yet; mode=topic: 0
 * @param deadLetters     messages in the dead-letter table (of the group)
 * @param oldestAgeMillis age of the oldest message not processed yet, or null when there is none
 * @param measuredAt      when this was measured
 */
public record PgNotifyStatistics(String channel, String group, long waiting, long inFlight, long retrying,
                                 long delayed, long deadLetters, Long oldestAgeMillis, Instant measuredAt) {

    /** The most a count of a measurement goes to. */
    public static final long COUNT_CAP = 100_000;

    /** Whether a count stopped at {@link #COUNT_CAP}. */
    public boolean capped() {
        return waiting >= COUNT_CAP || inFlight >= COUNT_CAP || retrying >= COUNT_CAP || delayed >= COUNT_CAP
               || deadLetters >= COUNT_CAP;
    }
}
