package dev.pgnotify.bench;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The receiving end of an end-to-end workload. Messages carry their sequence number and the System.nanoTime() of
 * their sending (one JVM, so the clocks agree); the receiver counts each one, notes duplicates and latencies, and
 * says when every expected message has arrived.
 */
final class Receiver {

    private final int expected;
    private final AtomicIntegerArray seen;
    private final long[] latencies;
    private final AtomicLong distinct = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final CountDownLatch complete = new CountDownLatch(1);
    private volatile long lastArrival;

    Receiver(int expected) {
        this.expected = expected;
        this.seen = new AtomicIntegerArray(expected);
        this.latencies = new long[expected];
    }

    /** A body of exactly {@code size} bytes: "seq:nanoTime:" then padding. */
    static String body(int seq, int size) {
        String head = seq + ":" + System.nanoTime() + ":";
        return size > head.length() ? head + "x".repeat(size - head.length()) : head;
    }

    /** A warm-up message: received, and ignored. */
    static String warmUpBody(int size) {
        return "-1:0:" + "x".repeat(Math.max(0, size - 5));
    }

    void onMessage(Object body) {
        onMessage(body, 0);
    }

    /**
     * A message whose sequence number counts from {@code offset}: several groups of a topic each receive every
     * message, and each group's copies are counted apart.
     */
    void onMessage(Object body, int offset) {
        long now = System.nanoTime();
        String text = body instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : body.toString();
        if (text.startsWith("-1:")) {
            return;
        }
        int first = text.indexOf(':');
        int second = text.indexOf(':', first + 1);
        int seq = offset + Integer.parseInt(text, 0, first, 10);
        long sent = Long.parseLong(text, first + 1, second, 10);
        if (seen.getAndIncrement(seq) > 0) {
            duplicates.incrementAndGet();
            return;
        }
        latencies[seq] = now - sent;
        lastArrival = now;
        if (distinct.incrementAndGet() == expected) {
            complete.countDown();
        }
    }

    /** Waits for every expected message, at most this long; what has not arrived by then counts as lost. */
    boolean await(long millis) throws InterruptedException {
        return complete.await(millis, TimeUnit.MILLISECONDS);
    }

    long lastArrivalNanos() {
        return lastArrival;
    }

    /** The run, with its throughput measured from the first send to the last arrival. */
    Run run(long firstSendNanos, String detail) {
        int delivered = (int) distinct.get();
        long[] measured = new long[delivered];
        int n = 0;
        for (int seq = 0; seq < expected && n < delivered; seq++) {
            if (seen.get(seq) > 0) {
                measured[n++] = latencies[seq];
            }
        }
        double seconds = Math.max(1, lastArrival - firstSendNanos) / 1e9;
        return new Run(delivered / seconds, expected, delivered, duplicates.get(), Run.Latencies.of(measured, n), detail);
    }
}
