package dev.pgnotify.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The public PostgreSQL job-queue benchmark's shape (hardbyte/postgresql-job-queue-benchmarking): producers send
 * batches of up to {@value #MAX_BATCH} jobs every {@value #TICK_MILLIS} ms at a fixed offered rate, credited by the
 * wall-clock time elapsed (a producer that fell behind sends what it owes at its next tick); workers whose work takes
 * {@value #WORK_MILLIS} ms; 1, 4, 16 and 64 worker threads. The offered rate doubles from 1,000 jobs/s, a step of
 * bench.jobStepSeconds (10) each, until a step is not kept (jobs completed at less than 95 % of the offered rate over
 * the step, producers that fell behind stretching it), then one step halfway between the last kept rate and that one
 * (3/4 of it: doubling alone knows the peak within 2x); the backlog is drained between steps, so that each step starts
 * empty. Measured per step: the completion rate and the
 * pickup latency, from the job's insert to the start of its work, in an HdrHistogram (bounded memory, however many
 * jobs). Side by side in the same round: a plain job table, one job a transaction claimed with FOR UPDATE SKIP LOCKED,
 * and pgnotify's queue.
 * <p>
 * Options (system properties): bench.jobWorkers (the concurrencies, "1,4,16,64"), bench.jobStepSeconds (10),
 * bench.jobLastRate (the highest rate offered, 32,000), bench.jobProducers (producer threads, 2), bench.jobSystems
 * (only the systems whose name contains it). A smoke run offers
 * 1,000 jobs/s to 4 workers for a second.
 */
final class JobQueueWorkloads {

    static final String NAME = "job queue";
    static final int MAX_BATCH = 128;
    static final int PRODUCERS = Integer.getInteger("bench.jobProducers", 2);
    static final long TICK_MILLIS = 10;
    static final long WORK_MILLIS = 1;
    static final int FIRST_RATE = 1_000;
    static final int LAST_RATE = 32_000;
    /** The share of a step's jobs that must complete within the step for the step to count as kept. */
    static final double KEPT = 0.95;

    private static final Logger LOG = LoggerFactory.getLogger(JobQueueWorkloads.class);

    /** One step of one run: a system at a concurrency and an offered rate. */
    record Step(String system, int workers, int offered, long owed, long sent, long completed, double seconds,
                double p50, double p99, double sendMillis) {

        double completedRate() {
            return completed / seconds;
        }

        /**
         * The producers sent what the rate owed (their inserts are the system's too: producers that fell behind stretch
         * the window), and the workers completed jobs at the offered rate over the window.
         */
        boolean kept() {
            return sent >= KEPT * owed && completedRate() >= KEPT * offered;
        }
    }

    private final Bench bench;
    final List<Step> steps = new ArrayList<>();

    JobQueueWorkloads(Bench bench) {
        this.bench = bench;
    }

    /** 1, 4, 16 and 64 workers, or those of bench.jobWorkers (say 16,64); 4 in a smoke run. */
    private int[] concurrencies() {
        if (bench.options.smoke()) {
            return new int[] { 4 };
        }
        String chosen = System.getProperty("bench.jobWorkers", "1,4,16,64");
        return java.util.Arrays.stream(chosen.split(",")).mapToInt(w -> Integer.parseInt(w.trim())).toArray();
    }

    private long stepMillis() {
        return bench.options.smoke() ? 1_000 : TimeUnit.SECONDS.toMillis(Integer.getInteger("bench.jobStepSeconds", 10));
    }

    void runAll() throws Exception {
        if (!bench.options.selects(NAME)) {
            return;
        }
        // bench.jobSystems (say "pgnotify") runs only the systems whose name contains it, for a diagnostic
        String systems = System.getProperty("bench.jobSystems", "");
        for (int workers : concurrencies()) {
            if (PlainJobTable.NAME.contains(systems)) {
                try (JobSystem plain = new PlainJobTable(bench, workers)) {
                    steps(plain, workers);
                }
            }
            if (PgNotifyJobQueue.NAME.contains(systems)) {
                try (JobSystem pgnotify = new PgNotifyJobQueue(bench, workers)) {
                    steps(pgnotify, workers);
                }
            }
        }
    }

    /** The steps of one system at one concurrency, doubling the rate until a step is not kept. */
    private void steps(JobSystem system, int workers) throws Exception {
        ConcurrentHistogram pickups = new ConcurrentHistogram(TimeUnit.SECONDS.toMicros(600), 3);
        AtomicLong completed = new AtomicLong();
        system.start(sentNanos -> {
            long micros = Math.max(0, TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - sentNanos));
            pickups.recordValue(Math.min(micros, pickups.getHighestTrackableValue()));
        }, completed::incrementAndGet);
        // unmeasured: the JVM, the plans and the connections warm up at the first rate
        offer(system, FIRST_RATE, Math.min(2_000, stepMillis()), completed);
        int last = bench.options.smoke() ? FIRST_RATE : LAST_RATE;
        int first = Integer.getInteger("bench.jobFirstRate", FIRST_RATE);
        for (int rate = first; rate <= Math.min(last, Integer.getInteger("bench.jobLastRate", LAST_RATE)); rate *= 2) {
            if (!step(system, workers, rate, pickups, completed).kept()) {
                // doubling alone knows the peak within 2x: one step halfway between the last kept rate and this one
                if (rate > first) {
                    step(system, workers, rate / 4 * 3, pickups, completed);
                }
                break;
            }
        }
    }

    /** One measured step at an offered rate. */
    private Step step(JobSystem system, int workers, int rate, ConcurrentHistogram pickups, AtomicLong completed)
            throws Exception {
        pickups.reset();
        long completedBefore = completed.get();
        Offered offered = offer(system, rate, stepMillis(), completed);
        double seconds = offered.windowNanos() / 1e9;
        // the pickups of every job of the step, those of the drain after its window included
        Histogram copy = pickups.copy();
        Step step = new Step(system.name(), workers, rate, rate * stepMillis() / 1000, offered.sent(),
                offered.completedInWindow() - completedBefore, seconds,
                copy.getValueAtPercentile(50) / 1000.0, copy.getValueAtPercentile(99) / 1000.0,
                offered.sendMillis());
        steps.add(step);
        LOG.info("{}, {} worker(s), {} jobs/s offered: {} completed/s, pickup p50 {} ms p99 {} ms, a batch sent in"
                 + " {} ms{}", step.system(), workers, rate, Math.round(step.completedRate()), step.p50(), step.p99(),
                String.format(Locale.ROOT, "%.2f", step.sendMillis()), step.kept() ? "" : " (not kept)");
        return step;
    }

    /** A step's sending window: jobs sent, the completion count when it closed, its length. */
    private record Offered(long sent, long completedInWindow, long windowNanos, double sendMillis) {
    }

    /** Offers jobs at a rate for a while from two producer threads, then waits for the backlog to drain (bounded). */
    private Offered offer(JobSystem system, int rate, long millis, AtomicLong completed) throws Exception {
        long expectedBefore = completed.get();
        long start = System.nanoTime();
        Producers producers = new Producers(system, rate, millis);
        long sent = producers.run();
        double sendMillis = producers.insertNanos.get() / 1e6 / Math.max(1, producers.inserts.get());
        long completedInWindow = completed.get();
        long windowNanos = System.nanoTime() - start;
        long target = expectedBefore + sent;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Bench.DELIVERY_TIMEOUT_MILLIS);
        while (completed.get() < target && System.nanoTime() < deadline) {
            Bench.pause(10);
        }
        if (completed.get() < target) {
            LOG.warn("{}: {} job(s) still waiting after {} ms; emptied", system.name(), target - completed.get(),
                    Bench.DELIVERY_TIMEOUT_MILLIS);
            system.empty();
            completed.set(target);
        }
        return new Offered(sent, completedInWindow, windowNanos, sendMillis);
    }

    /** Sends at a rate credited by elapsed time, in batches of up to {@value #MAX_BATCH} every {@value #TICK_MILLIS} ms. */
    private static final class Producers {

        private final JobSystem system;
        private final double perThreadPerNano;
        private final long millis;

        Producers(JobSystem system, int rate, long millis) {
            this.system = system;
            this.perThreadPerNano = rate / (double) PRODUCERS / 1e9;
            this.millis = millis;
        }

        final AtomicLong insertNanos = new AtomicLong();
        final AtomicLong inserts = new AtomicLong();

        long run() throws Exception {
            long start = System.nanoTime();
            long end = start + TimeUnit.MILLISECONDS.toNanos(millis);
            AtomicLong sent = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            List<Exception> failures = new ArrayList<>();
            for (int t = 0; t < PRODUCERS; t++) {
                int producer = t;
                Thread thread = new Thread(() -> {
                    long mine = 0;
                    for (long tick = start; tick < end; tick += TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS)) {
                        long wait;
                        while ((wait = tick - System.nanoTime()) > 0) {
                            java.util.concurrent.locks.LockSupport.parkNanos(wait);
                        }
                        long owed = (long) ((Math.min(System.nanoTime(), end) - start) * perThreadPerNano) - mine;
                        while (owed > 0 && System.nanoTime() < end + TimeUnit.SECONDS.toNanos(5)) {
                            int size = (int) Math.min(owed, MAX_BATCH);
                            try {
                                long before = System.nanoTime();
                                system.insert(producer, size, before);
                                insertNanos.addAndGet(System.nanoTime() - before);
                                inserts.incrementAndGet();
                            } catch (Exception e) {
                                synchronized (failures) {
                                    failures.add(e);
                                }
                                return;
                            }
                            mine += size;
                            owed -= size;
                            sent.addAndGet(size);
                        }
                    }
                }, "bench-job-producer-" + t);
                thread.start();
                threads.add(thread);
            }
            for (Thread thread : threads) {
                thread.join(millis + TimeUnit.SECONDS.toMillis(30));
            }
            if (!failures.isEmpty()) {
                throw failures.get(0);
            }
            return sent.get();
        }
    }

    /** The report's section: per concurrency, each rate both systems were offered, and each system's peak. */
    String section() {
        if (steps.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder("## Job-queue shape (hardbyte/postgresql-job-queue-benchmarking)\n\n");
        md.append(String.format(Locale.ROOT, "Producers (2 threads) send batches of up to %d jobs every %d ms at a fixed"
                                             + " offered rate, credited by elapsed time; each job's work takes %d ms"
                                             + " (a park, as I/O would); the offered rate doubles from %,d jobs/s, %d s"
                                             + " a step, until a step is not kept (jobs completed at less than %.0f %% of"
                                             + " the offered rate over the step, producers that fell behind"
                                             + " stretching it), then one step is offered halfway between the last"
                                             + " kept rate and that one (3/4 of it). Pickup latency: from the job's insert to the"
                                             + " start of its work (HdrHistogram); a batch sent in: the producers'"
                                             + " mean time for one batch's insert, its durable commit included."
                                             + " The plain job table: one job a"
                                             + " transaction (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1, the work,"
                                             + " DELETE, COMMIT), a worker that finds none polling again after %d ms."
                                             + " pgnotify: a queue route with that many concurrentConsumers"
                                             + " (maxPoolSize workers + 2), producers sending with batch=true."
                                             + " Medians of the runs.\n\n",
                MAX_BATCH, TICK_MILLIS, WORK_MILLIS, FIRST_RATE, stepMillis() / 1000, KEPT * 100,
                PlainJobTable.IDLE_POLL_MILLIS));
        md.append("| Workers | Offered jobs/s | Plain table: completed/s | pickup p50 / p99 ms | a batch sent in ms"
                  + " | pgnotify: completed/s | pickup p50 / p99 ms | a batch sent in ms | pgnotify p99 / plain p99 |\n"
                  + "|---:|---:|---:|---|---:|---:|---|---:|---:|\n");
        Map<String, Double> peaks = new LinkedHashMap<>();
        Map<String, Integer> highestKept = new LinkedHashMap<>();
        int[] rates = steps.stream().mapToInt(Step::offered).distinct().sorted().toArray();
        for (int workers : concurrencies()) {
            for (int rate : rates) {
                Cell plain = cell(PlainJobTable.NAME, workers, rate);
                Cell ours = cell(PgNotifyJobQueue.NAME, workers, rate);
                if (plain == null && ours == null) {
                    continue;
                }
                String ratio = plain != null && ours != null && plain.kept && ours.kept && plain.p99 > 0
                        ? String.format(Locale.ROOT, "%.2f×", ours.p99 / plain.p99) : "";
                md.append(String.format(Locale.ROOT, "| %d | %,d | %s | %s | %s | %s | %s | %s | %s |\n", workers, rate,
                        plain == null ? "" : plain.rate(), plain == null ? "" : plain.latency(),
                        plain == null ? "" : plain.send(), ours == null ? "" : ours.rate(),
                        ours == null ? "" : ours.latency(), ours == null ? "" : ours.send(), ratio));
                for (Cell c : new Cell[] { plain, ours }) {
                    if (c != null) {
                        String key = c.system + ", " + workers + " worker(s)";
                        peaks.merge(key, c.completed, Math::max);
                        highestKept.merge(key, c.kept ? rate : 0, Math::max);
                    }
                }
            }
        }
        md.append("\nPeak completion rate (the highest median of a step) and the highest offered rate kept:\n\n"
                  + "| System | Peak jobs/s | Highest kept step, jobs/s offered |\n|---|---:|---:|\n");
        peaks.forEach((k, v) -> md.append(String.format(Locale.ROOT, "| %s | %,d | %s |\n", k, Math.round(v),
                highestKept.get(k) > 0 ? String.format(Locale.ROOT, "%,d", highestKept.get(k)) : "none")));
        md.append("\n");
        return md.toString();
    }

    private record Cell(String system, double completed, double p50, double p99, double sendMillis, boolean kept) {

        String send() {
            return String.format(Locale.ROOT, "%.2f", sendMillis);
        }

        String rate() {
            return String.format(Locale.ROOT, "%,d%s", Math.round(completed), kept ? "" : " (not kept)");
        }

        String latency() {
            return String.format(Locale.ROOT, "%.1f / %.1f", p50, p99);
        }
    }

    /** The medians over the runs of one system at one concurrency and rate, or null if never run. */
    private Cell cell(String system, int workers, int rate) {
        List<Step> runs = steps.stream()
                .filter(s -> s.system().equals(system) && s.workers() == workers && s.offered() == rate).toList();
        if (runs.isEmpty()) {
            return null;
        }
        long kept = runs.stream().filter(Step::kept).count();
        return new Cell(system, Bench.median(runs.stream().mapToDouble(Step::completedRate).toArray()),
                Bench.median(runs.stream().mapToDouble(Step::p50).toArray()),
                Bench.median(runs.stream().mapToDouble(Step::p99).toArray()),
                Bench.median(runs.stream().mapToDouble(Step::sendMillis).toArray()), kept * 2 > runs.size());
    }

    /** A job queue under test. */
    interface JobSystem extends AutoCloseable {

        String name();

        /** Starts the workers: each calls {@code pickedUp} with the job's insert time, works, then {@code done}. */
        void start(java.util.function.LongConsumer pickedUp, Runnable done) throws Exception;

        /** Inserts this many jobs in one transaction, each carrying its insert time; producer: 0 or 1, its thread. */
        void insert(int producer, int jobs, long sentNanos) throws Exception;

        /** Deletes whatever is still waiting (a step that could not be drained). */
        void empty() throws Exception;
    }
}
