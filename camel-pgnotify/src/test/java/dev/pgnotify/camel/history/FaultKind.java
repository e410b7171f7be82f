package dev.pgnotify.camel.history;

/**
 * The faults a run injects. Those that can take a lease away from a consumer or lose an acknowledgement
 * ({@link #losesLeases()}) are what may excuse a duplicate delivery or a break in per-key order; the others (a session
 * holding an xid or a snapshot, a killed producer, a route that fails or interrupts its thread) excuse nothing: the
 * guarantees must hold through them.
 */
public enum FaultKind {

    /** SIGKILL of a consumer JVM, then a replacement started: its claims are lost until their leases run out. */
    KILL_CONSUMER(true, 3),
    /** SIGKILL of the producer JVM in the middle of its sends, then a replacement that goes on with the plan. */
    KILL_PRODUCER(false, 1),
    /** pg_terminate_backend of some pgnotify backends (application_name LIKE 'camel-pgnotify%'). */
    TERMINATE_BACKENDS(true, 3),
    /** The consumers' connections frozen in the proxy (half-open: nothing forwarded, nothing closed), then closed. */
    FREEZE_CONNECTIONS(true, 2),
    /** A fast shutdown (open transactions rolled back, a checkpoint) and a start of the server. */
    SERVER_RESTART(true, 1),
    /** An immediate shutdown (a crash: recovery at the next start) and a start of the server. */
    SERVER_CRASH(true, 1),
    /** A session that took an xid ({@code BEGIN; SELECT txid_current();}) and then does nothing for a while. */
    IDLE_IN_TRANSACTION(false, 2),
    /** A REPEATABLE READ transaction that read the queue (or topic log) and holds its snapshot for a while. */
    HELD_SNAPSHOT(false, 2),
    /** Every claimed row made due again at once, as a lease renewal that did not get through would leave it. */
    FORCED_LEASE_EXPIRY(true, 2),
    /** Planned per message: the route throws on the message's first deliveries (or on all of them). */
    ROUTE_FAILURE(false, 0),
    /** Planned per message: the route calls Thread.currentThread().interrupt() and returns normally. */
    INTERRUPT(false, 0);

    private final boolean losesLeases;
    private final int weight;

    FaultKind(boolean losesLeases, int weight) {
        this.losesLeases = losesLeases;
        this.weight = weight;
    }

    /** Whether this fault can take a lease from a consumer or lose an acknowledgement (and so excuse a duplicate). */
    public boolean losesLeases() {
        return losesLeases;
    }

    /** How often the plan draws this kind among the scheduled faults (0: planned per message, never scheduled). */
    int weight() {
        return weight;
    }

    /** Whether the fault lasts a while (begins, holds, ends) rather than happening at once. */
    boolean holds() {
        return this == FREEZE_CONNECTIONS || this == IDLE_IN_TRANSACTION || this == HELD_SNAPSHOT;
    }
}
