package dev.pgnotify.camel.claim;

import java.time.Instant;

import dev.pgnotify.camel.listen.SharedListener;
import org.apache.camel.health.HealthCheckResultBuilder;

/**
 * A claiming consumer's health: DOWN while it is not started, while its claims fail, while a claim has been running
 * far longer than claims take (the database does not answer), or while its LISTEN connection is lost or silent; UP
 * otherwise. Its details say what it holds and has done.
 */
final class ClaimHealth {

    /**
     * A claim running longer than this (or than half the statement timeout) makes the health check DOWN: claims take
     * milliseconds.
     */
    static final long CLAIM_STALL_MILLIS = 5000;

    private final ClaimingConsumer consumer;

    ClaimHealth(ClaimingConsumer consumer) {
        this.consumer = consumer;
    }

    void report(HealthCheckResultBuilder result) {
        ClaimCounters counters = consumer.counters();
        SharedListener.Subscription current = consumer.subscription();
        String channel = consumer.channel();
        result.detail("mode", consumer.mode()).detail("inFlight", consumer.getInFlightCount())
                .detail("threads", consumer.workers().size()).detail("paused", consumer.isPaused())
                .detail("delivered", counters.delivered.get()).detail("retried", counters.retried.get())
                .detail("deadLettered", counters.deadLettered.get());
        Instant claimedAt = consumer.getLastClaim();
        if (claimedAt != null) {
            result.detail("lastClaim", claimedAt.toString());
        }
        if (counters.replacedThreads.get() > 0) {
            result.detail("replacedThreads", counters.replacedThreads.get());
        }
        if (counters.expired.get() > 0) {
            result.detail("expired", counters.expired.get());
        }
        Throwable claimFailure = consumer.lastClaimFailure();
        if (claimFailure != null) {
            result.detail("lastError", String.valueOf(claimFailure.getMessage()));
        }
        consumer.reportDetails(result);
        if (!consumer.isRunning() || current == null && consumer.configuration().isListen()) {
            result.down().message("pgnotify:" + channel + " is not started");
            return;
        }
        SharedListener listener = current != null ? current.listener() : null;
        if (listener != null) {
            result.detail("database", listener.key().toString()).detail("reconnects", listener.getReconnects())
                    .detail("listening", listener.isListening());
        } else {
            result.detail("listening", false).detail("polling", true);
        }
        long slowest = consumer.workers().stream().filter(w -> Worker.CLAIMING.equals(w.callWhat()))
                .mapToLong(Worker::millisInCall).max().orElse(-1);
        int failedClaims = consumer.failedClaims();
        if (failedClaims > 0) {
            result.down().message("pgnotify:" + channel + " cannot claim messages (" + failedClaims
                                  + " failed attempt(s) in a row) and keeps trying");
            if (claimFailure != null) {
                result.error(claimFailure);
            }
        } else if (slowest > Math.min(CLAIM_STALL_MILLIS, consumer.configuration().getStatementTimeout() / 2)) {
            result.down().message("pgnotify:" + channel + ": a claim has been running for " + slowest
                                  + " ms (claims take milliseconds): the database does not answer");
        } else if (listener == null) {
            result.up();
        } else if (!listener.isListening()) {
            result.down().message("pgnotify:" + channel + " has lost its LISTEN connection and is reconnecting");
            if (listener.getLastFailure() != null) {
                result.error(listener.getLastFailure());
            }
        } else if (!listener.isResponsive()) {
            result.down().message("pgnotify:" + channel
                                  + ": its LISTEN connection has not answered for a while; checking it");
        } else {
            result.up();
        }
    }
}
