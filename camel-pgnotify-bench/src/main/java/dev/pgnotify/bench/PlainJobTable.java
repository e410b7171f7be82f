package dev.pgnotify.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job-queue workload's baseline: a plain job table as the SKIP LOCKED articles write it. A worker claims one job
 * a transaction (SELECT ... ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1), works, deletes it and commits; one that finds
 * none looks again after {@value #IDLE_POLL_MILLIS} ms. Every worker and producer thread has a connection of its own.
 */
final class PlainJobTable implements JobQueueWorkloads.JobSystem {

    static final String NAME = "plain SKIP LOCKED table";
    static final long IDLE_POLL_MILLIS = 5;
    private static final Logger LOG = LoggerFactory.getLogger(PlainJobTable.class);

    private final Bench bench;
    private final int workers;
    private final List<Thread> threads = new ArrayList<>();
    private final List<Connection> connections = new ArrayList<>();
    private final Connection[] producerConnections = new Connection[JobQueueWorkloads.PRODUCERS];
    private volatile boolean running = true;

    PlainJobTable(Bench bench, int workers) throws Exception {
        this.bench = bench;
        this.workers = workers;
        bench.sql("DROP TABLE IF EXISTS bench_jobs",
                "CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, payload text NOT NULL)");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void start(LongConsumer pickedUp, Runnable done) throws Exception {
        for (int w = 0; w < workers; w++) {
            Connection connection = open();
            connection.setAutoCommit(false);
            Thread thread = new Thread(() -> work(connection, pickedUp, done), "bench-plain-worker-" + w);
            thread.start();
            threads.add(thread);
        }
    }

    private void work(Connection connection, LongConsumer pickedUp, Runnable done) {
        try (PreparedStatement claim = connection.prepareStatement(
                "SELECT id, payload FROM bench_jobs ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1");
             PreparedStatement delete = connection.prepareStatement("DELETE FROM bench_jobs WHERE id = ?")) {
            while (running) {
                long id;
                String payload;
                try (ResultSet rs = claim.executeQuery()) {
                    if (!rs.next()) {
                        connection.commit();
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(IDLE_POLL_MILLIS));
                        continue;
                    }
                    id = rs.getLong(1);
                    payload = rs.getString(2);
                }
                pickedUp.accept(JobBodies.sentNanos(payload));
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(JobQueueWorkloads.WORK_MILLIS));
                delete.setLong(1, id);
                delete.executeUpdate();
                connection.commit();
                done.run();
            }
        } catch (Exception e) {
            if (running) {
                LOG.warn("A plain-table worker stopped: {}", e.getMessage());
            }
        }
    }

    @Override
    public void insert(int producer, int jobs, long sentNanos) throws Exception {
        Connection connection = producerConnections[producer];
        if (connection == null) {
            connection = open();
            producerConnections[producer] = connection;
        }
        String[] bodies = new String[jobs];
        Arrays.fill(bodies, JobBodies.body(sentNanos));
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO bench_jobs (payload) SELECT unnest(?::text[])")) {
            insert.setArray(1, connection.createArrayOf("text", bodies));
            insert.executeUpdate();
        }
    }

    @Override
    public void empty() throws Exception {
        bench.sql("DELETE FROM bench_jobs");
    }

    private synchronized Connection open() throws Exception {
        Connection connection = bench.connect();
        connections.add(connection);
        return connection;
    }

    @Override
    public void close() throws Exception {
        running = false;
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        }
        synchronized (this) {
            for (Connection connection : connections) {
                connection.close();
            }
        }
    }
}
