package dev.pgnotify.camel.queue;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConstants;
import org.apache.camel.Exchange;

/**
 * The route of {@link DeduplicationLifecycleIT}: each delivery of a message (known by its body) waits in the route
 * until the history decides it, to succeed or to fail; the history waits for a delivery to arrive before it decides.
 */
final class DeliveryGates {

    private final int maxAttempts;
    private final Map<String, Gate> gates = new ConcurrentHashMap<>();
    /** Set between histories: every delivery succeeds at once, so that the channel empties. */
    private volatile boolean releasing;

    DeliveryGates(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    /** The route's processor: waits for the history to decide this delivery, then succeeds or fails. */
    void deliver(Exchange exchange) throws Exception {
        String token = exchange.getMessage().getBody(String.class);
        int attempt = exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class);
        Gate gate = gate(token);
        // read after the gate is in the map: release() either sees the gate or is seen here
        if (releasing) {
            gate.succeedAll();
        }
        gate.arrival(attempt).complete(null);
        if (!gate.fate(attempt).get(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("delivery " + attempt + " of " + token + " fails, as the history says");
        }
    }

    /** Completes once that delivery of the message is in the route. */
    CompletableFuture<Void> arrival(String token, int attempt) {
        return gate(token).arrival(attempt);
    }

    void succeed(String token, int attempt) {
        gate(token).fate(attempt).complete(true);
    }

    /** Fails that delivery of the message and every later one. */
    void failFrom(String token, int attempt) {
        for (int later = attempt; later <= maxAttempts; later++) {
            gate(token).fate(later).complete(false);
        }
    }

    void fail(String token, int attempt) {
        gate(token).fate(attempt).complete(false);
    }

    /** Lets every delivery succeed at once, waiting or to come, until {@link #reset()}. */
    void release() {
        releasing = true;
        gates.values().forEach(Gate::succeedAll);
    }

    /** Forgets every message, once the channel is empty. */
    void reset() {
        gates.clear();
        releasing = false;
    }

    private Gate gate(String token) {
        return gates.computeIfAbsent(token, t -> new Gate());
    }

    /** One message's deliveries: each one's arrival in the route, and whether it is to succeed. */
    private final class Gate {
        private final Map<Integer, CompletableFuture<Void>> arrivals = new ConcurrentHashMap<>();
        private final Map<Integer, CompletableFuture<Boolean>> fates = new ConcurrentHashMap<>();

        CompletableFuture<Void> arrival(int attempt) {
            return arrivals.computeIfAbsent(attempt, a -> new CompletableFuture<>());
        }

        CompletableFuture<Boolean> fate(int attempt) {
            return fates.computeIfAbsent(attempt, a -> new CompletableFuture<>());
        }

        void succeedAll() {
            for (int attempt = 1; attempt <= maxAttempts; attempt++) {
                fate(attempt).complete(true);
            }
        }
    }
}
