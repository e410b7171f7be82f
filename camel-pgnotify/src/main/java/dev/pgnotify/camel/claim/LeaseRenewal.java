package dev.pgnotify.camel.claim;

import java.util.List;

import dev.pgnotify.camel.connection.Database;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews the leases of the items a consumer holds, every third of a lease, so that an item is never taken away while
 * its exchange runs. Each renewal is bounded by a quarter of the lease and tried again at once on a new connection
 * when it fails, so that one dead connection does not let the leases run out. Renewals are fenced by the attempt each
 * item was claimed as: a lease that ran out and was claimed again is not renewed for its old holder. An item that
 * left the consumer's hands (see {@link Delivery}) is no longer renewed.
 */
final class LeaseRenewal {

    private static final Logger LOG = LoggerFactory.getLogger(LeaseRenewal.class);

    private final ClaimingConsumer consumer;

    LeaseRenewal(ClaimingConsumer consumer) {
        this.consumer = consumer;
    }

    void renew() {
        Database database = consumer.database();
        WorkStore store = consumer.store();
        Handoff handoff = consumer.handoff();
        if (handoff.inHandCount() == 0 || !consumer.isRunning() || database == null) {
            return;
        }
        long leaseTime = consumer.configuration().getLeaseTime();
        long timeout = Math.min(database.statementTimeoutMillis(), Math.max(100, leaseTime / 4));
        for (int attempt = 1; attempt <= 2 && consumer.isRunning(); attempt++) {
            List<WorkStore.Lease> leases = handoff.inHand().stream()
                    .map(item -> new WorkStore.Lease(item.id(), item.attempt(), item.fence(), item.progress())).toList();
            if (leases.isEmpty()) {
                return;
            }
            try {
                database.call(consumer, "renewing leases", timeout, connection -> {
                    store.renew(connection, leases, leaseTime);
                    return null;
                });
                return;
            } catch (Exception e) {
                if (consumer.isRunning()) {
                    LOG.warn("Could not renew the leases of {} item(s) of {} (attempt {}): {}", leases.size(),
                            consumer.workKey(), attempt, e.getMessage());
                }
            }
        }
    }
}
