package dev.pgnotify.camel.claim;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.pgnotify.camel.PgNotifyConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replaces a worker still in a database call well past its bound (the watchdog closed its connection or interrupted it,
 * and it did not return): the worker is abandoned (its items are no longer renewed, and are delivered again once their
 * leases run out) and a new one takes its place. No more threads are replaced while as many as the consumer has are
 * still stuck: during a fault that holds every call, more would only leak threads.
 */
final class StuckThreads {

    private static final Logger LOG = LoggerFactory.getLogger(StuckThreads.class);
    /** How long a thread may stay in a call past its bound before it is replaced. */
    static final long STUCK_GRACE_MILLIS = 5000;

    private final ClaimingConsumer consumer;
    /** Replaced threads that have not returned yet. */
    private final List<Worker> replacedStillStuck = new CopyOnWriteArrayList<>();

    StuckThreads(ClaimingConsumer consumer) {
        this.consumer = consumer;
    }

    void clear() {
        replacedStillStuck.clear();
    }

    void replace() {
        if (!consumer.isRunning()) {
            return;
        }
        PgNotifyConfiguration configuration = consumer.configuration();
        long bound = configuration.getConnectTimeout() + configuration.getStatementTimeout() + STUCK_GRACE_MILLIS;
        replacedStillStuck.removeIf(Worker::hasExited);
        for (Worker worker : consumer.workers()) {
            long inCall = worker.millisInCall();
            if (inCall > bound && !worker.isAbandoned()) {
                if (replacedStillStuck.size() >= configuration.getConcurrentConsumers()) {
                    LOG.debug("pgnotify:{}: not replacing another stuck thread while {} replaced ones are still stuck",
                            consumer.channel(), replacedStillStuck.size());
                    return;
                }
                LOG.warn("pgnotify:{}: a consumer thread has been stuck for {} ms in {} (bound {} ms) although the"
                         + " watchdog closed its connection or interrupted it; replacing it with a new thread",
                        consumer.channel(), inCall, worker.callWhat(), bound);
                worker.abandon();
                consumer.workerExited(worker);
                replacedStillStuck.add(worker);
                consumer.counters().replacedThreads.incrementAndGet();
                consumer.startWorker();
            }
        }
    }
}
