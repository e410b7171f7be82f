package dev.pgnotify.bench;

/** A job's body in the job-queue workload: its insert time (System.nanoTime()), padded to about 100 bytes. */
final class JobBodies {

    private static final String PADDING = "x".repeat(80);

    private JobBodies() {
    }

    static String body(long sentNanos) {
        return sentNanos + ":" + PADDING;
    }

    static long sentNanos(Object body) {
        String text = body.toString();
        return Long.parseLong(text.substring(0, text.indexOf(':')));
    }
}
