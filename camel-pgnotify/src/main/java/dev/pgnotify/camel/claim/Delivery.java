package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.RollbackExchangeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers the messages of one claimed item, in order, from its progress on: each becomes an exchange; a failed one is
 * retried later with backoff (a batch's failed message leaves it as an item of its own, and its key's later messages
 * follow it out), and one that exhausted its attempts goes to the dead-letter table. Every bookkeeping statement is
 * fenced by the attempt the item was claimed as, so a holder whose lease ran out changes nothing of its new holder's.
 * <p>
 * Rule: an item leaves the worker's hands in exactly one way — acknowledged, settled (retried or dead-lettered),
 * handed back, or, when bookkeeping failed or the lease was lost, <em>left</em>: no longer renewed, so that it is
 * delivered again once its lease runs out, and watched by the sweep meanwhile.
 * <p>
 * Longer than a class here should be: every way an item can end (delivered, retried, split out of its batch,
 * dead-lettered, delivered in a transaction, left to its lease) is a method here, so that the rule above is kept, and
 * can be checked, in one place.
 */
final class Delivery {

    private static final Logger LOG = LoggerFactory.getLogger(Delivery.class);
    private static final int MAX_ERROR_TEXT = 4000;

    /** What became of a claimed item. */
    enum Outcome {
        /** Every message processed: acknowledge it. */
        DONE,
        /** Settled otherwise: retried later, or dead-lettered (a single message), or claimed again meanwhile. */
        SETTLED,
        /** The consumer is stopping: hand it back with its progress. */
        STOPPED,
        /** Bookkeeping failed: left to its lease, which runs out. */
        LEFT
    }

    private final ClaimingConsumer consumer;
    private final Worker worker;
    private final PgNotifyConfiguration configuration;
    private final boolean transacted;

    Delivery(ClaimingConsumer consumer, Worker worker) {
        this.consumer = consumer;
        this.worker = worker;
        this.configuration = consumer.configuration();
        this.transacted = configuration.isTransacted();
    }

    /** Processes the item's messages in order, from its progress on. */
    Outcome deliver(WorkStore.Item item) {
        int maxAttempts = configuration.getMaxAttempts();
        List<WorkStore.StoredMessage> messages = item.messages();
        int from = item.progress();
        if (item.attempt() > maxAttempts && from < messages.size()) {
            // delivered that often without ever completing (its consumer died, or could not even read it): the message
            // it was at goes to the dead-letter table, claimed without its body
            String error = "Gave up after " + maxAttempts
                           + " deliveries that never completed (its consumer died, or could not even read it)";
            Outcome dead = deadLetter(item, messages.get(from), error);
            if (dead != null) {
                return dead;
            }
            from++;
            item.progress(from);
        }
        // keys whose failed message left this batch to be retried: their later messages follow it out
        Set<String> heldKeys = new HashSet<>();
        for (int i = from; i < messages.size(); i++) {
            if (!worker.mayContinue()) {
                return Outcome.STOPPED;
            }
            WorkStore.StoredMessage message = messages.get(i);
            if (!message.loaded()) {
                if (!load(item, i)) {
                    return left(item);
                }
                message = messages.get(i);
            }
            if (message.key() != null && heldKeys.contains(message.key())) {
                Outcome split = splitOutFollower(item, message);
                if (split != null) {
                    return split;
                }
                messages.set(i, WorkStore.StoredMessage.unloaded(message.id()));
                item.progress(i + 1);
                continue;
            }
            if (message.isExpired()) {
                consumer.counters().expired.incrementAndGet();
                LOG.warn("Message {} of {} is no longer in the log: it was emptied after the maximum retention"
                         + " before it was processed; skipping it", message.id(), consumer.workKey());
                item.progress(i + 1);
                continue;
            }
            if (message.outlived()) {
                return settleOutlived(item, message);
            }
            if (transacted) {
                // mode=queue: an item is one message
                return processInTransaction(item, message);
            }
            Exception failure = process(item, message, false);
            if (failure == null) {
                consumer.counters().delivered.incrementAndGet();
            } else if (item.single()) {
                return retryOrDeadLetter(item, message, failure);
            } else if (configuration.getMaxAttempts() <= 1) {
                Outcome dead = deadLetter(item, message, errorText(failure));
                if (dead != null) {
                    return dead;
                }
            } else {
                Outcome split = splitOut(item, message, failure);
                if (split != null) {
                    return split;
                }
                if (message.key() != null) {
                    heldKeys.add(message.key());
                }
            }
            if (!item.single()) {
                // a batch's bodies are only held until processed
                messages.set(i, WorkStore.StoredMessage.unloaded(message.id()));
            }
            item.progress(i + 1);
        }
        return Outcome.DONE;
    }

    /**
     * Bookkeeping failed: the item is no longer renewed, so that it is delivered again once its lease runs out; the
     * sweep watches it meanwhile (it may be this consumer's to claim again).
     */
    private Outcome left(WorkStore.Item item) {
        worker.finished(item);
        consumer.handoff().recheck(item.id());
        return Outcome.LEFT;
    }

    /**
     * Moves the message to the dead-letter table. Returns null when a batch goes on with its next message, else how
     * the item ended: settled (a single message, or claimed again meanwhile), or left (bookkeeping failed).
     */
    private Outcome deadLetter(WorkStore.Item item, WorkStore.StoredMessage message, String error) {
        LOG.warn("Message {} of {} moves to the dead-letter table after {} deliveries: {}", message.id(),
                consumer.workKey(), item.attempt(), error);
        WorkStore.DeadLettered dead;
        try {
            dead = worker.call("moving a message to the dead-letter table",
                    connection -> consumer.store().deadLetter(connection, item, message, error));
        } catch (Exception e) {
            worker.logBookkeepingFailure("Could not move message " + message.id()
                                         + " to the dead-letter table; it is delivered again when its lease runs out",
                    e);
            return left(item);
        }
        if (!dead.done()) {
            LOG.warn("Message {} of {} was claimed again before it could be dead-lettered (its lease of {} ms ran out"
                     + " without a renewal getting through); its new holder delivers it",
                    message.id(), consumer.workKey(), configuration.getLeaseTime());
            worker.finished(item);
            return Outcome.SETTLED;
        }
        consumer.counters().deadLettered.incrementAndGet();
        if (dead.next() != null) {
            // per-key order: the next message of its key goes now, rather than when the sweep finds it
            consumer.handoff().addDue(dead.next());
            consumer.wakeOne();
        }
        if (item.single()) {
            worker.finished(item);
            return Outcome.SETTLED;
        }
        return null;
    }

    /**
     * A message whose expiry time passed before it was claimed is not delivered: it goes to the dead-letter table with
     * the reason, or (expiredMessages=drop) is acknowledged as if done.
     */
    private Outcome settleOutlived(WorkStore.Item item, WorkStore.StoredMessage message) {
        consumer.counters().expired.incrementAndGet();
        if (configuration.isDropExpired()) {
            LOG.debug("Message {} of {} expired before it was delivered; dropped", message.id(), consumer.workKey());
            return Outcome.DONE;
        }
        Outcome dead = deadLetter(item, message, "Expired before it was delivered (its expiry time, from "
                                                 + PgNotifyConstants.EXPIRES_AT + " or timeToLive, had passed)");
        return dead != null ? dead : Outcome.DONE;
    }

    private Outcome retryOrDeadLetter(WorkStore.Item item, WorkStore.StoredMessage message, Exception failure) {
        if (item.attempt() >= configuration.getMaxAttempts()) {
            Outcome dead = deadLetter(item, message, errorText(failure));
            return dead != null ? dead : Outcome.DONE;
        }
        return retryLater(item, failure);
    }

    /**
     * transacted=true: the exchange and the message's acknowledgement in one transaction on the application's
     * DataSource, which the route's own JDBC work joins. The claim that counted this delivery committed before, on its
     * own, so a rollback cannot undo the count: a message that always fails still reaches the dead-letter table after
     * maxAttempts. The acknowledgement comes last, so that the row is locked only for the commit.
     */
    private Outcome processInTransaction(WorkStore.Item item, WorkStore.StoredMessage message) {
        PgNotifyTransactions transactions = configuration.getTransactions();
        DataSource dataSource = consumer.joinableDataSource();
        Exception failure;
        try {
            WorkStore.InTransaction done = transactions.inTransaction(dataSource, () -> {
                Exception routeFailure = process(item, message, true);
                if (routeFailure != null) {
                    throw new RouteFailed(routeFailure);
                }
                WorkStore.InTransaction acknowledged = acknowledgeInTransaction(transactions, dataSource, item);
                if (!acknowledged.acknowledged()) {
                    throw new LeaseLost();
                }
                return acknowledged;
            });
            consumer.counters().delivered.incrementAndGet();
            worker.finished(item);
            if (done.next() != null) {
                // per-key order: committed, so the next message of its key may go now
                consumer.handoff().addDue(done.next());
                consumer.wakeOne();
            }
            return Outcome.SETTLED;
        } catch (LeaseLost e) {
            LOG.warn("Message {} of {} was claimed again before its transaction committed (its lease of {} ms ran"
                     + " out without a renewal getting through); the transaction rolled back and the message is"
                     + " processed by its new claim",
                    message.id(), consumer.workKey(), configuration.getLeaseTime());
            worker.finished(item);
            return Outcome.SETTLED;
        } catch (RouteFailed e) {
            failure = (Exception) e.getCause();
        } catch (Exception e) {
            // the transaction could not begin or commit: rolled back, or its outcome unknown; a retry is fenced by the
            // delivery count, so it does nothing if the commit went through after all
            failure = e;
        }
        return retryOrDeadLetter(item, message, failure);
    }

    private WorkStore.InTransaction acknowledgeInTransaction(PgNotifyTransactions transactions, DataSource dataSource,
                                                             WorkStore.Item item)
            throws SQLException {
        Connection connection = transactions.transactionConnection(dataSource);
        if (connection == null) {
            throw new IllegalStateException("The transactions integration " + transactions.getClass().getName()
                                            + " began no transaction on the dataSource");
        }
        try {
            return worker.database().callOn(connection, consumer, "acknowledging a message in its transaction",
                    joined -> consumer.store().acknowledgeInTransaction(joined, item));
        } finally {
            transactions.release(connection, dataSource);
        }
    }

    private boolean load(WorkStore.Item item, int from) {
        try {
            List<WorkStore.StoredMessage> loaded = worker.call("loading messages",
                    connection -> consumer.store().load(connection, item, from, configuration.getMaxBytesPerPoll()));
            for (int j = 0; j < loaded.size(); j++) {
                item.messages().set(from + j, loaded.get(j));
            }
            return !loaded.isEmpty();
        } catch (Exception e) {
            worker.logBookkeepingFailure("Could not load the messages of item " + item.id()
                                         + "; it is delivered again when its lease runs out",
                    e);
            return false;
        }
    }

    /**
     * Runs the exchange; returns why it failed, or null. In a transaction, an exchange the route marked rollback only
     * failed too, as a transacted route's would.
     */
    private Exception process(WorkStore.Item item, WorkStore.StoredMessage stored, boolean inTransaction) {
        Exchange exchange = consumer.newExchange();
        if (inTransaction) {
            // Camel then keeps the exchange on this thread, the transaction's
            exchange.getExchangeExtension().setTransacted(true);
        }
        try {
            Message in = exchange.getMessage();
            consumer.populate(in, item, stored, exchange);
            // Camel's own identity of a message, as camel-jms sets it: an idempotentConsumer keys on it
            in.setMessageId(Long.toString(stored.id()));
            in.setHeader(Exchange.MESSAGE_TIMESTAMP, stored.createdAt().getTime());
            in.setBody(stored.body());
            consumer.getProcessor().process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        } catch (Error e) {
            exchange.setException(new CamelExchangeException("The route threw " + e, exchange, e));
        } finally {
            // a route (or a library it called) may leave the thread's interrupt flag set: it must not end the next
            // wait, nor fail the next database call, of this worker
            worker.clearStrayInterrupt();
        }
        Exception failure = exchange.getException();
        if (failure == null && inTransaction && (exchange.isRollbackOnly() || exchange.isRollbackOnlyLast())) {
            failure = new RollbackExchangeException("The route marked the exchange rollback only", exchange);
        }
        consumer.doneWith(exchange);
        return failure;
    }

    private Outcome retryLater(WorkStore.Item item, Exception failure) {
        long delay = consumer.retryDelay(item.attempt());
        LOG.warn("Message {} of {} failed on delivery {} of {}; delivering it again in {} ms: {}",
                item.messages().get(0).id(), consumer.workKey(), item.attempt(), configuration.getMaxAttempts(), delay,
                failure.toString());
        try {
            worker.call("scheduling a retry", connection -> {
                consumer.store().retry(connection, item, delay, errorText(failure));
                return null;
            });
        } catch (Exception e) {
            worker.logBookkeepingFailure("Could not schedule the retry of message " + item.messages().get(0).id()
                                         + "; it is delivered again when its lease runs out",
                    e);
            return left(item);
        }
        consumer.counters().retried.incrementAndGet();
        // its wake-up: nothing notifies when a retry falls due, and it lies below the frontier
        consumer.dueIn(item.id(), delay);
        worker.finished(item);
        return Outcome.SETTLED;
    }

    /**
     * Takes a failed message out of a batch into an item of its own, retried after its backoff. Returns null when the
     * batch goes on; else how it ended: left to its lease (bookkeeping failed) or settled (claimed again meanwhile).
     */
    private Outcome splitOut(WorkStore.Item item, WorkStore.StoredMessage message, Exception failure) {
        long delay = consumer.retryDelay(1);
        LOG.warn("Message {} of {} failed on delivery 1 of {}; delivering it again in {} ms: {}", message.id(),
                consumer.workKey(), configuration.getMaxAttempts(), delay, failure.toString());
        Long retry;
        try {
            retry = worker.call("scheduling a retry",
                    connection -> consumer.store().splitOut(connection, item, message, delay, errorText(failure)));
        } catch (Exception e) {
            worker.logBookkeepingFailure("Could not schedule the retry of message " + message.id()
                                         + "; its batch is delivered again when its lease runs out",
                    e);
            return left(item);
        }
        if (retry == null) {
            return leaseLost(item, message);
        }
        consumer.counters().retried.incrementAndGet();
        consumer.dueIn(retry, delay);
        return null;
    }

    /**
     * Per-key order: a keyed message after a failed one of its key in the same batch leaves the batch too, to wait for
     * the failed one's retry in the batch's place. Returns null when the batch goes on, as {@link #splitOut} does.
     */
    private Outcome splitOutFollower(WorkStore.Item item, WorkStore.StoredMessage message) {
        Long follower;
        try {
            follower = worker.call("holding back a message behind its key's retry",
                    connection -> consumer.store().splitOut(connection, item, message, 0, null));
        } catch (Exception e) {
            worker.logBookkeepingFailure("Could not hold back message " + message.id() + " behind its key's retry; its"
                                         + " batch is delivered again when its lease runs out",
                    e);
            return left(item);
        }
        if (follower == null) {
            return leaseLost(item, message);
        }
        LOG.debug("Message {} of {} waits for the retry of an earlier message of its key (item {})", message.id(),
                consumer.workKey(), follower);
        return null;
    }

    /** The batch was claimed again (its lease ran out): its new holder goes on with it, from its recorded progress. */
    private Outcome leaseLost(WorkStore.Item item, WorkStore.StoredMessage message) {
        LOG.warn("The batch of message {} of {} was claimed again (its lease of {} ms ran out without a renewal getting"
                 + " through); its new holder delivers the rest", message.id(), consumer.workKey(),
                configuration.getLeaseTime());
        worker.finished(item);
        return Outcome.SETTLED;
    }

    static String errorText(Throwable failure) {
        StringBuilder text = new StringBuilder(failure.toString());
        Throwable cause = failure.getCause();
        for (int depth = 0; cause != null && depth < 10; depth++, cause = cause.getCause()) {
            text.append("; caused by: ").append(cause);
        }
        return text.length() > MAX_ERROR_TEXT ? text.substring(0, MAX_ERROR_TEXT) : text.toString();
    }

    /** The route failed inside a transacted delivery: rolls the transaction back. */
    private static final class RouteFailed extends Exception {
        RouteFailed(Exception cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /** The message was claimed again by the time its acknowledgement ran: rolls the transaction back. */
    private static final class LeaseLost extends Exception {
        LeaseLost() {
            super("claimed again", null, false, false);
        }
    }
}
