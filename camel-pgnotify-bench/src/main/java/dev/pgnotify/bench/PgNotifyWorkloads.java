package dev.pgnotify.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.IntStream;

import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.postgresql.Driver;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * pgnotify's workloads, and camel-pgevent's beside them, end to end through Camel routes: a producer template sends,
 * a consumer route receives.
 */
final class PgNotifyWorkloads {

    static final String NOTIFY = "notify";
    static final String QUEUE = "queue";

    static final String PGEVENT_E2E = "camel-pgevent, 1 producer thread";
    static final String PGEVENT_1000 = "camel-pgevent at 1,000 msg/s";
    static final String NOTIFY_E2E = "pgnotify mode=notify, 1 producer thread";
    static final String NOTIFY_E2E_4KB = "pgnotify mode=notify, 1 producer thread, 4 KB bodies";
    static final String NOTIFY_1000 = "pgnotify mode=notify at 1,000 msg/s";
    static final String NOTIFY_AT_PGEVENT_MAX = "pgnotify mode=notify at camel-pgevent's top rate";
    static final String QUEUE_1 = "pgnotify queue, 1 producer thread";
    static final String QUEUE_4 = "pgnotify queue, 4 producer threads";
    static final String QUEUE_1_4KB = "pgnotify queue, 1 producer thread, 4 KB bodies";
    static final String QUEUE_1_ALONE = "pgnotify queue, 1 producer thread, consumer started after the sends";
    static final String QUEUE_BATCH = "pgnotify queue, batch=true, 100 a transaction";
    static final String QUEUE_1000 = "pgnotify queue at 1,000 msg/s";
    static final String DRAIN = "pgnotify queue, drain a %,d backlog, %d consumer(s)";
    static final String FEATURES = "Queue features";
    static final String FEATURE_PLAIN = "drain a %,d backlog, 2 consumers: plain";
    static final String FEATURE_KEYED = "drain a %,d backlog, 2 consumers: keyed, 1,000 keys";
    static final String FEATURE_PRIORITY = "drain a %,d backlog, 2 consumers: priorities 0-3";
    static final String FEATURE_DEDUP = "drain a %,d backlog, 2 consumers: each with a deduplication id";
    static final String FEATURE_DELAYED = "drain a %,d backlog, 2 consumers: delayed, all falling due at once";

    private final Bench bench;
    /** Facts that are not throughputs: wake-up counts. */
    final List<String[]> facts = new ArrayList<>();

    PgNotifyWorkloads(Bench bench) {
        this.bench = bench;
    }

    void runNotify() throws Exception {
        Measurement pgevent = bench.measure(NOTIFY, PGEVENT_E2E, "NOTIFY via camel-pgevent 4.17.0 (pgjdbc-ng)",
                () -> endToEnd(pgeventUri(), 1, bench.options.count(10_000), 0, 100));
        bench.measure(NOTIFY, PGEVENT_1000, "open model, one message every millisecond",
                () -> endToEnd(pgeventUri(), 1, rateCount(1000), 1000, 100));
        bench.measure(NOTIFY, NOTIFY_E2E, "pg_notify from a pooled connection, LISTEN on a dedicated one",
                () -> endToEnd("pgnotify:bench_notify?mode=notify", 1, bench.options.count(10_000), 0, 100));
        bench.measure(NOTIFY, NOTIFY_E2E_4KB, "", () -> endToEnd("pgnotify:bench_notify?mode=notify", 1,
                bench.options.count(10_000), 0, 4096));
        bench.measure(NOTIFY, NOTIFY_1000, "open model, one message every millisecond",
                () -> endToEnd("pgnotify:bench_notify?mode=notify", 1, rateCount(1000), 1000, 100));
        double pgeventTop = pgeventTopRate(pgevent);
        bench.measure(NOTIFY, NOTIFY_AT_PGEVENT_MAX,
                String.format("open model at %,d msg/s, the median throughput of camel-pgevent in this run", Math.round(pgeventTop)),
                () -> endToEnd("pgnotify:bench_notify?mode=notify", 1, rateCount(pgeventTop), pgeventTop, 100));
    }

    /** camel-pgevent's median throughput so far in this run (at least 1,000 msg/s). */
    double pgeventTopRate() {
        Measurement pgevent = bench.find(PGEVENT_E2E);
        return pgeventTopRate(pgevent);
    }

    private static double pgeventTopRate(Measurement pgevent) {
        return pgevent == null || pgevent.runs.isEmpty() ? 1000 : Math.max(1000, pgevent.medianThroughput());
    }

    /** @param countWakeUps whether to count the wake-ups too (once is enough) */
    void runQueue(boolean countWakeUps) throws Exception {
        String queue = "pgnotify:bench_q?table=bench_queue";
        bench.measure(QUEUE, QUEUE_1, "sending rate; the consumer drains at the same time",
                () -> queueEndToEnd(queue, 1, bench.options.count(6_000), 100, 1));
        // the same sends with nobody claiming meanwhile: what the producer's path costs by itself, against the
        // ceiling, and what the consumer's concurrent claims and acknowledgements take from it (docs/performance.md)
        bench.measure(QUEUE, QUEUE_1_ALONE, "sending rate with no consumer running; it drains them afterwards",
                () -> queueEndToEnd(queue, 1, bench.options.count(6_000), 100, 1, false));
        bench.measure(QUEUE, QUEUE_4, "sending rate; the consumer drains at the same time",
                () -> queueEndToEnd(queue, 4, bench.options.count(8_000), 100, 1));
        bench.measure(QUEUE, QUEUE_1_4KB, "sending rate; the consumer drains at the same time",
                () -> queueEndToEnd(queue, 1, bench.options.count(6_000), 4096, 1));
        bench.measure(QUEUE, QUEUE_BATCH, "rows a second sent, like the raw batch INSERT without a consumer; then a"
                                          + " consumer drains them all", this::queueBatch);
        bench.measure(QUEUE, QUEUE_1000, "open model, one message every millisecond",
                () -> {
                    bench.sql("TRUNCATE bench_queue");
                    return endToEnd(queue, 1, rateCount(1000), 1000, 100);
                });
        int backlog = bench.options.count(200_000);
        for (int consumers : new int[] { 1, 2, 4 }) {
            bench.measure(QUEUE, String.format(DRAIN, backlog, consumers),
                    "claims of 100, acknowledged with the next claim", () -> drain(backlog, consumers));
        }
        if (countWakeUps) {
            countWakeUps();
        }
    }

    /**
     * What each queue feature costs a consumer: the same backlog drained plain, keyed, prioritized, deduplicated and
     * delayed, one after the other in each round, so that the machine's drift falls on all alike.
     */
    void runFeatures() throws Exception {
        int backlog = bench.options.count(200_000);
        String body = "g || ':0:' || repeat('x', 90)";
        bench.measure(FEATURES, String.format(FEATURE_PLAIN, backlog), "the baseline of the rows below",
                () -> featureDrain(backlog, "body_text", body, false));
        bench.measure(FEATURES, String.format(FEATURE_KEYED, backlog),
                "message_key = 'key-' || (g % 1000): each key's messages one at a time, in order",
                () -> featureDrain(backlog, "body_text, message_key", body + ", 'key-' || (g % 1000)", false));
        bench.measure(FEATURES, String.format(FEATURE_PRIORITY, backlog),
                "priority = g % 4: claimed highest first",
                () -> featureDrain(backlog, "body_text, priority", body + ", g % 4", false));
        bench.measure(FEATURES, String.format(FEATURE_DEDUP, backlog),
                "dedup_id = g: each acknowledgement starts its id's window (a trigger)",
                () -> featureDrain(backlog, "body_text, dedup_id", body + ", g::text", false));
        bench.measure(FEATURES, String.format(FEATURE_DELAYED, backlog),
                "available_at 5 s ahead: rate from the moment they fall due, the consumer started before",
                () -> featureDrain(backlog, "body_text, available_at", body + ", now() + interval '5 seconds'", true));
    }

    /**
     * A backlog written with SQL (these columns and values, g being the row's number), drained by two consumer
     * threads; when {@code delayed}, the rate counts from the moment the rows fall due (by the database's clock).
     */
    private Run featureDrain(int backlog, String columns, String values, boolean delayed) throws Exception {
        bench.sql("TRUNCATE bench_queue", "TRUNCATE bench_queue_dedup",
                "INSERT INTO bench_queue (channel, " + columns + ") SELECT 'bench_feature', " + values
                                          + " FROM generate_series(0, " + (backlog - 1) + ") AS g",
                "VACUUM ANALYZE bench_queue");
        long dueAt = System.nanoTime();
        if (delayed) {
            try (Connection connection = bench.connect(); Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery("SELECT (extract(epoch FROM min(available_at) - now()) * 1e9)"
                                                       + "::bigint FROM bench_queue")) {
                rs.next();
                dueAt += rs.getLong(1);
            }
        }
        Receiver receiver = new Receiver(backlog);
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:bench_feature?table=bench_queue&concurrentConsumers=2")
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            long start = delayed ? dueAt : System.nanoTime();
            camel.start();
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run run = receiver.run(start, "");
            return new Run(run.throughput(), run.expected(), run.delivered(), run.duplicates(), null, "");
        }
    }

    private int rateCount(double rate) {
        return (int) (rate * bench.options.millis(3000) / 1000);
    }

    /**
     * Sends {@code count} messages to the URI (as fast as possible, or at a fixed rate) while a route consumes the
     * same URI; the throughput is the delivery rate.
     */
    private Run endToEnd(String uri, int producers, int count, double rate, int bodySize) throws Exception {
        return endToEnd(bench.camel(), uri, producers, count, rate, bodySize);
    }

    /**
     * As {@link #endToEnd(String, int, int, double, int)}, in this Camel context (another server's, say); the run's
     * detail adds the process CPU time per 1,000 messages.
     */
    Run endToEnd(CamelContext context, String uri, int producers, int count, double rate, int bodySize)
            throws Exception {
        Receiver receiver = new Receiver(count);
        try (CamelContext camel = context) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(uri).process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint(uri);
            warmUp(template, endpoint, rate, bodySize);
            long[] sendNanos = new long[count];
            Bench.Send send = seq -> {
                long start = System.nanoTime();
                template.sendBody(endpoint, Receiver.body(seq, bodySize));
                sendNanos[seq] = System.nanoTime() - start;
            };
            long cpuBefore = Bench.processCpuNanos();
            long[] sent = rate > 0 ? Bench.sendAtRate(rate, count, send)
                    : Bench.sendAsFastAsPossible(producers, count, send);
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            long cpuNanos = Bench.processCpuNanos() - cpuBefore;
            Run.Latencies sending = Run.Latencies.of(sendNanos, count);
            String sendTimes = String.format("the send itself: p50 %.2f ms, p99 %.2f ms; CPU %.0f ms per 1,000"
                                             + " messages (this JVM: producer and consumer)", sending.p50(),
                    sending.p99(), cpuNanos / 1e6 / count * 1000);
            return receiver.run(sent[0], rate > 0 ? String.format("offered %,d msg/s; %s", Math.round(rate), sendTimes)
                    : sendTimes);
        }
    }

    /**
     * Sends a second's worth of unmeasured messages first (at the workload's rate, or 1,000), so that what is measured
     * runs on compiled code and warm connections, for every contender alike.
     */
    private void warmUp(ProducerTemplate template, Endpoint endpoint, double rate, int bodySize) throws Exception {
        int count = (int) (bench.options.smoke() ? 50 : Math.max(1000, rate));
        Bench.Send send = seq -> template.sendBody(endpoint, Receiver.warmUpBody(bodySize));
        if (rate > 0) {
            Bench.sendAtRate(rate, count, send);
        } else {
            Bench.sendAsFastAsPossible(1, count, send);
        }
    }

    /** Like {@link #endToEnd}, but measured by the sending rate, with the delivery rate beside it. */
    private Run queueEndToEnd(String uri, int producers, int count, int bodySize, int consumers) throws Exception {
        return queueEndToEnd(uri, producers, count, bodySize, consumers, true);
    }

    /**
     * @param consumeMeanwhile whether the consumer runs while the producers send (else it starts after the last send,
     *                         and the run has no latencies: the messages waited for it by design)
     */
    private Run queueEndToEnd(String uri, int producers, int count, int bodySize, int consumers,
                              boolean consumeMeanwhile) throws Exception {
        bench.sql("TRUNCATE bench_queue");
        Receiver receiver = new Receiver(count);
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(uri + "&concurrentConsumers=" + consumers).routeId("consumer").autoStartup(consumeMeanwhile)
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint(uri);
            warmUp(template, endpoint, 0, bodySize);
            long flushes = bench.walFlushes();
            long[] sent = Bench.sendAsFastAsPossible(producers, count,
                    seq -> template.sendBody(endpoint, Receiver.body(seq, bodySize)));
            double sendingRate = count / (sent[1] / 1e9);
            if (!consumeMeanwhile) {
                String sendingWal = Bench.walFlushesPerMessage(flushes, bench.walFlushes(), count);
                camel.getRouteController().startRoute("consumer");
                receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
                Run drained = receiver.run(sent[0], "");
                return new Run(sendingRate, drained.expected(), drained.delivered(), drained.duplicates(), null,
                        "no consumer ran during the sends" + (sendingWal.isEmpty() ? "" : "; " + sendingWal));
            }
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run delivered = receiver.run(sent[0], "");
            // sent, claimed and acknowledged: the producer's commit waits for the disk, the consumer's do not
            String wal = Bench.walFlushesPerMessage(flushes, bench.walFlushes(), count);
            return delivered.withThroughput(sendingRate, String.format("delivered %,d msg/s (%d consumer thread%s)%s",
                    Math.round(delivered.throughput()), consumers, consumers > 1 ? "s" : "",
                    wal.isEmpty() ? "" : "; " + wal));
        }
    }

    private Run queueBatch() throws Exception {
        bench.sql("TRUNCATE bench_queue");
        int count = bench.options.count(50_000);
        Receiver receiver = new Receiver(count);
        String uri = "pgnotify:bench_batch?table=bench_queue";
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(uri).routeId("drain").autoStartup(false)
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint(uri + "&batch=true");
            for (int i = 0; i < (bench.options.smoke() ? 5 : 50); i++) {
                template.sendBody(endpoint, IntStream.range(0, 100).mapToObj(n -> Receiver.warmUpBody(100)).toList());
            }
            long start = System.nanoTime();
            for (int from = 0; from < count; from += 100) {
                List<String> batch = IntStream.range(from, Math.min(count, from + 100))
                        .mapToObj(seq -> Receiver.body(seq, 100)).toList();
                template.sendBody(endpoint, batch);
            }
            long sendNanos = System.nanoTime() - start;
            long drainStart = System.nanoTime();
            camel.getRouteController().startRoute("drain");
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run delivered = receiver.run(drainStart, "");
            return new Run(count / (sendNanos / 1e9), delivered.expected(), delivered.delivered(), delivered.duplicates(),
                    null, String.format("then drained at %,d msg/s", Math.round(delivered.throughput())));
        }
    }

    /** A backlog written beforehand with SQL, drained by a route with that many consumer threads. */
    private Run drain(int backlog, int consumers) throws Exception {
        bench.sql("TRUNCATE bench_queue",
                "INSERT INTO bench_queue (channel, body_text) SELECT 'bench_drain', g || ':' || 0 || ':' || repeat('x', 90)"
                                          + " FROM generate_series(0, " + (backlog - 1) + ") AS g",
                "VACUUM ANALYZE bench_queue");
        Receiver receiver = new Receiver(backlog);
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:bench_drain?table=bench_queue&concurrentConsumers=" + consumers)
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            long start = System.nanoTime();
            CpuMeter cpu = new CpuMeter();
            camel.start();
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            String split = cpu.perThousand(backlog);
            // the bodies carry no send time: only the throughput means something here
            Run run = receiver.run(start, "");
            return new Run(run.throughput(), run.expected(), run.delivered(), run.duplicates(), null, split);
        }
    }

    /** Notifications per 1,000 messages, in batches of 100 and one by one. */
    private void countWakeUps() throws Exception {
        int batched = countWakeUps(true);
        int single = countWakeUps(false);
        facts.add(new String[] { "Wake-ups (NOTIFY) per 1,000 messages sent in batches of 100 (batch=true)",
                Integer.toString(batched) });
        facts.add(new String[] { "Wake-ups (NOTIFY) per 1,000 messages sent one by one, one producer thread",
                Integer.toString(single) });
    }

    private int countWakeUps(boolean batched) throws Exception {
        bench.sql("TRUNCATE bench_queue");
        try (CamelContext camel = bench.camel(); Connection listener = bench.connect()) {
            try (Statement statement = listener.createStatement()) {
                statement.execute("LISTEN \"public.bench_queue\"");
            }
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            if (batched) {
                for (int b = 0; b < 10; b++) {
                    template.sendBody("pgnotify:bench_wake?table=bench_queue&batch=true",
                            IntStream.range(0, 100).mapToObj(i -> "m" + i).toList());
                }
            } else {
                for (int i = 0; i < 1000; i++) {
                    template.sendBody("pgnotify:bench_wake?table=bench_queue", "m" + i);
                }
            }
            // a last wake-up through the same sender marks the end: it is sent after every earlier one
            template.sendBody("pgnotify:bench_wake_end?table=bench_queue", "end");
            int wakeUps = 0;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline) {
                PGNotification[] batch = listener.unwrap(PGConnection.class).getNotifications(100);
                if (batch == null) {
                    continue;
                }
                boolean end = false;
                for (PGNotification n : batch) {
                    // the payload: the channel, a space, the sending application's id
                    String channel = n.getParameter().split(" ")[0];
                    if ("bench_wake".equals(channel)) {
                        wakeUps++;
                    } else if ("bench_wake_end".equals(channel)) {
                        end = true;
                    }
                }
                if (end) {
                    break;
                }
            }
            return wakeUps;
        }
    }

    private String pgeventUri() {
        Properties url = Driver.parseURL(bench.server.jdbcUrl(), null);
        StringBuilder uri = new StringBuilder("pgevent:").append(url.getProperty("PGHOST")).append(':')
                .append(url.getProperty("PGPORT")).append('/').append(url.getProperty("PGDBNAME"))
                .append("/bench_pgevent?user=").append(bench.server.username() != null ? bench.server.username() : "postgres");
        if (bench.server.password() != null) {
            uri.append("&pass=RAW(").append(bench.server.password()).append(')');
        }
        return uri.toString();
    }
}
