package dev.pgnotify.camel.claim;

import java.util.concurrent.atomic.AtomicLong;

/** What a consumer counts since its start, for JMX, the console and health details. */
final class ClaimCounters {

    /** Messages whose exchanges completed. */
    final AtomicLong delivered = new AtomicLong();
    /** Deliveries that failed and were scheduled again. */
    final AtomicLong retried = new AtomicLong();
    /** Messages moved to the dead-letter table. */
    final AtomicLong deadLettered = new AtomicLong();
    /** Messages not delivered because they expired. */
    final AtomicLong expired = new AtomicLong();
    /** Threads replaced because they stayed stuck in a database call. */
    final AtomicLong replacedThreads = new AtomicLong();
}
