package dev.pgnotify.bench;

import java.util.Arrays;

/**
 * One repetition of a workload: its throughput in messages per second, how many of the expected messages arrived
 * (and how many more than once), and the end-to-end latencies when measured.
 */
record Run(double throughput, long expected, long delivered, long duplicates, Latencies latencies, String detail) {

    static Run throughputOnly(double throughput, long messages) {
        return new Run(throughput, messages, messages, 0, null, "");
    }

    /** The same run, measured by another rate (say, the sending rate rather than the delivery rate). */
    Run withThroughput(double rate, String note) {
        return new Run(rate, expected, delivered, duplicates, latencies, note);
    }

    long lost() {
        return expected - delivered;
    }

    /** Latency percentiles in milliseconds. */
    record Latencies(double p50, double p95, double p99, double max) {

        static Latencies of(long[] nanos, int count) {
            if (count == 0) {
                return null;
            }
            long[] sorted = Arrays.copyOf(nanos, count);
            Arrays.sort(sorted);
            return new Latencies(percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99),
                    sorted[sorted.length - 1] / 1e6);
        }

        private static double percentile(long[] sorted, double p) {
            int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
        }
    }
}
