package dev.pgnotify.camel.listen;

import java.sql.PreparedStatement;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import javax.sql.DataSource;

import dev.pgnotify.camel.connection.Database;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes the queue consumers of other applications after pgnotify producers have committed (those of the producer's
 * own application are woken directly): one sender thread per database, which sends every wake-up requested since its
 * last one in one statement, at most one statement a millisecond. A NOTIFY takes a cluster-wide lock at commit; sent
 * from the producers' own INSERT transactions it would make concurrent producers wait for each other's disk flush,
 * sent from here it is a short transaction that waits for nothing. Under load many producer commits share one
 * wake-up (measured: without the millisecond, one NOTIFY transaction per insert cost a third of the producers'
 * throughput on two cores). Wake-ups are hints: a lost one only delays delivery until the consumers' next poll.
 */
public final class WakeUpSenders {

    private static final Logger LOG = LoggerFactory.getLogger(WakeUpSenders.class);

    private final CamelContext camelContext;
    private final String origin;
    private final Map<DataSource, Sender> senders = new IdentityHashMap<>();

    /**
     * @param origin identifies the sending application in the payload, after the queue channel and a space (channel
     *               names have no spaces), so that its own consumers, already woken directly, skip the wake-up
     */
    public WakeUpSenders(CamelContext camelContext, String origin) {
        this.camelContext = camelContext;
        this.origin = origin;
    }

    /** The sender for this database; every call must be matched by {@link #release(DataSource)}. */
    public synchronized Sender acquire(Database database) {
        Sender sender = senders.computeIfAbsent(database.dataSource(), dataSource -> new Sender(database));
        sender.users++;
        return sender;
    }

    public synchronized void release(DataSource dataSource) {
        Sender sender = senders.get(dataSource);
        if (sender != null && --sender.users == 0) {
            senders.remove(dataSource);
            sender.stop();
        }
    }

    public synchronized void stopAll() {
        senders.values().forEach(Sender::stop);
        senders.clear();
    }

    /**
     * A NOTIFY to send: the table's wake-up channel, with the queue channel as payload (and when the messages fall due
     * later, in how many milliseconds).
     */
    private record WakeUp(String notifyChannel, String queueChannel, long dueInMillis) {
    }

    /**
     * Delays are rounded up to this, so that wake-ups for messages falling due at nearly the same time share one
     * NOTIFY (and the consumers one timer); a consumer woken a little late finds them due.
     */
    private static final long DELAY_GRANULARITY_MILLIS = 10;

    public final class Sender implements Runnable {

        private static final long IDLE_WAIT_MILLIS = 1000;
        private static final long FAILURE_PAUSE_MILLIS = 1000;
        private static final long STOP_GRACE_MILLIS = 1000;
        /** The least time between two wake-up statements: what arrives meanwhile shares the next one. */
        private static final long MIN_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

        private final Database database;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition requested = lock.newCondition();
        private final CountDownLatch stopped = new CountDownLatch(1);
        private Set<WakeUp> pending = new LinkedHashSet<>();
        private volatile boolean running = true;
        private ExecutorService executor;
        private int users;
        private long lastSent = System.nanoTime() - MIN_INTERVAL_NANOS;

        private Sender(Database database) {
            this.database = database;
        }

        /**
         * Asks for consumers of this queue channel to be woken (soon, and once for many requests), or, when
         * {@code dueInMillis} is positive, to be told to wake that much later.
         */
        public void request(String notifyChannel, String queueChannel, long dueInMillis) {
            lock.lock();
            try {
                if (executor == null) {
                    executor = camelContext.getExecutorServiceManager().newSingleThreadExecutor(WakeUpSenders.this,
                            "PgNotifyWakeUp");
                    executor.execute(this);
                }
                long delay = dueInMillis <= 0 ? 0
                        : (dueInMillis + DELAY_GRANULARITY_MILLIS - 1) / DELAY_GRANULARITY_MILLIS
                          * DELAY_GRANULARITY_MILLIS;
                if (pending.add(new WakeUp(notifyChannel, queueChannel, delay)) && pending.size() == 1) {
                    requested.signal();
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void run() {
            while (running) {
                sendOrDrop(awaitRequests());
            }
            // what the last producers asked for before they stopped
            sendOrDrop(takePending());
        }

        private void sendOrDrop(Set<WakeUp> batch) {
            if (batch.isEmpty()) {
                return;
            }
            lastSent = System.nanoTime();
            try {
                send(batch);
            } catch (Exception e) {
                LOG.debug("Sending {} wake-up(s) failed; consumers will find the messages when they next poll",
                        batch.size(), e);
                pause();
            }
        }

        private Set<WakeUp> takePending() {
            lock.lock();
            try {
                Set<WakeUp> batch = pending;
                pending = new LinkedHashSet<>();
                return batch;
            } finally {
                lock.unlock();
            }
        }

        private Set<WakeUp> awaitRequests() {
            lock.lock();
            try {
                if (pending.isEmpty()) {
                    requested.await(IDLE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
                }
                long wait;
                while (running && (wait = lastSent + MIN_INTERVAL_NANOS - System.nanoTime()) > 0) {
                    requested.awaitNanos(wait);
                }
                Set<WakeUp> batch = pending;
                pending = new LinkedHashSet<>();
                return batch;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
                return Set.of();
            } finally {
                lock.unlock();
            }
        }

        private void send(Set<WakeUp> batch) throws Exception {
            String[] channels = batch.stream().map(WakeUp::notifyChannel).toArray(String[]::new);
            String[] payloads = batch.stream()
                    .map(w -> w.queueChannel() + ' ' + origin + (w.dueInMillis() > 0 ? " " + w.dueInMillis() : ""))
                    .toArray(String[]::new);
            database.call(this, "sending wake-ups", connection -> {
                try (PreparedStatement notify = connection.prepareStatement(ListenSql.NOTIFY_ALL)) {
                    notify.setArray(1, connection.createArrayOf("text", channels));
                    notify.setArray(2, connection.createArrayOf("text", payloads));
                    return notify.execute();
                }
            });
        }

        /** After a failure: the database may be down, and wake-ups are only hints. */
        private void pause() {
            try {
                stopped.await(FAILURE_PAUSE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }

        private void stop() {
            running = false;
            stopped.countDown();
            lock.lock();
            try {
                requested.signalAll();
            } finally {
                lock.unlock();
            }
            if (executor != null) {
                // the last wake-ups go out if the database answers in time (a NOTIFY takes a millisecond); a call
                // still running after that is aborted rather than waited for
                camelContext.getExecutorServiceManager().shutdownGraceful(executor, STOP_GRACE_MILLIS);
            }
            database.watchdog().abortCallsOf(this);
        }
    }
}
