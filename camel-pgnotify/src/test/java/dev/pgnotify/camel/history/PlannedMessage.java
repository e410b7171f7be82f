package dev.pgnotify.camel.history;

/**
 * One message of a plan: when it is sent (milliseconds after the run's start), how, with which key, priority and delay,
 * and what the consuming route does with it. The route's part travels in the body
 * ({@code token;f=failures;i=interruptAttempt;w=workMillis}), so that every consumer JVM acts on it alike without
 * knowing the plan.
 *
 * @param token            unique in the run: what every event of the message names
 * @param key              CamelPgNotifyKey, or null
 * @param priority         CamelPgNotifyPriority (0: none)
 * @param delayMillis      CamelPgNotifyDelay (0: none)
 * @param failures         the route fails deliveries 1..failures (CamelPgNotifyAttempt); {@link #ALWAYS} for every one
 * @param interruptAttempt the route interrupts its thread on this delivery (0: never); always one that succeeds
 * @param holdMillis       {@link Path#SQL_LONG} and {@link Path#SQL_ROLLBACK}: how long the transaction stays open
 * @param workMillis       how long the route works on each delivery
 */
public record PlannedMessage(String token, long offsetMillis, String key, int priority, long delayMillis, int failures,
                             int interruptAttempt, Path path, long holdMillis, int workMillis) {

    /** {@link #failures()} of a message whose every delivery fails: it must end as a dead letter. */
    public static final int ALWAYS = Integer.MAX_VALUE;

    /** How a message is sent. */
    public enum Path {
        /** A pgnotify producer of the test JVM. */
        CAMEL,
        /** A pgnotify producer of the producer JVM (which the faults may kill). */
        CHILD,
        /** An SQL INSERT in a transaction that is rolled back: it must never be delivered. */
        SQL_ROLLBACK,
        /** An SQL INSERT in a transaction that holds its xid open for a while before it commits (a long writer). */
        SQL_LONG
    }

    /** The route's part of a plan, read back from a delivered body. */
    public record Body(String token, int failures, int interruptAttempt, int workMillis) {

        /** Whether the route fails this delivery. */
        boolean fails(int attempt) {
            return attempt <= failures;
        }
    }

    public boolean alwaysFails() {
        return failures == ALWAYS;
    }

    /** The planned outcome, as the events and reports name it. */
    public String outcome() {
        if (failures == ALWAYS) {
            return "always-fail";
        }
        return failures == 0 ? "succeed" : "fail-first-" + failures;
    }

    public String body() {
        return token + ";f=" + (failures == ALWAYS ? "always" : Integer.toString(failures)) + ";i=" + interruptAttempt
               + ";w=" + workMillis;
    }

    /** The route's part of a body written by {@link #body()}. */
    public static Body parseBody(String body) {
        String[] parts = body.split(";");
        if (parts.length != 4 || !parts[1].startsWith("f=") || !parts[2].startsWith("i=") || !parts[3].startsWith("w=")) {
            throw new IllegalArgumentException("Not a planned message's body: " + body);
        }
        String failures = parts[1].substring(2);
        return new Body(parts[0], failures.equals("always") ? ALWAYS : Integer.parseInt(failures),
                Integer.parseInt(parts[2].substring(2)), Integer.parseInt(parts[3].substring(2)));
    }

    /** The token of a body written by {@link #body()} (or the body itself, when it is not one). */
    public static String tokenOf(String body) {
        int end = body == null ? -1 : body.indexOf(';');
        return end < 0 ? body : body.substring(0, end);
    }

    /** One line of a plan file, tab-separated, read back by {@link #parseLine(String)}. */
    public String toLine() {
        return String.join("\t", token, Long.toString(offsetMillis), key == null ? "-" : key, Integer.toString(priority),
                Long.toString(delayMillis), Integer.toString(failures), Integer.toString(interruptAttempt), path.name(),
                Long.toString(holdMillis), Integer.toString(workMillis));
    }

    public static PlannedMessage parseLine(String line) {
        String[] f = line.split("\t");
        return new PlannedMessage(f[0], Long.parseLong(f[1]), f[2].equals("-") ? null : f[2], Integer.parseInt(f[3]),
                Long.parseLong(f[4]), Integer.parseInt(f[5]), Integer.parseInt(f[6]), Path.valueOf(f[7]),
                Long.parseLong(f[8]), Integer.parseInt(f[9]));
    }
}
