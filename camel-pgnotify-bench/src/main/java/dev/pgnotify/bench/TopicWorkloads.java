package dev.pgnotify.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;

/**
 * mode=topic's workloads: latency with two groups at a fixed rate, the producer's cost with 0, 2 and 4 groups
 * consuming (against the queue producer of the same round), and backlog drains by 1, 2 and 4 groups in parallel and by
 * 1, 2 and 4 consumers of one group (against the raw claim-and-delete loop).
 */
final class TopicWorkloads {

    static final String TOPIC = "topic";
    static final String TABLE = "bench_topic";
    static final String TOPIC_1000 = "pgnotify topic at 1,000 msg/s, 2 groups";
    static final String PUBLISH = "pgnotify topic, 1 producer thread, %d group(s) consuming";
    static final String PER_GROUP = "pgnotify topic, 1 producer thread, 2 groups, delivered per group";
    static final String DRAIN_GROUPS = "pgnotify topic, drain a %,d backlog, %d group(s) in parallel";
    static final String DRAIN_CONSUMERS = "pgnotify topic, drain a %,d backlog, 1 group of %d consumer(s)";

    private final Bench bench;

    TopicWorkloads(Bench bench) {
        this.bench = bench;
    }

    static String uri(String channel) {
        return "pgnotify:" + channel + "?mode=topic&topicTable=" + TABLE;
    }

    /** Empties the topic: its log, its groups and their work. */
    void reset() throws Exception {
        bench.sql("TRUNCATE " + TABLE + ", " + TABLE + "_groups, " + TABLE + "_cuts, " + TABLE + "_items, " + TABLE
                  + "_dead", "VACUUM ANALYZE " + TABLE + ", " + TABLE + "_items, " + TABLE + "_cuts");
    }

    /** pgnotify creates the topic's tables on first use. */
    void create() throws Exception {
        try (CamelContext camel = bench.camel()) {
            camel.start();
            camel.createProducerTemplate().sendBody(uri("setup"), "setup");
        }
        reset();
    }

    void runAll() throws Exception {
        int rateCount = (int) (1000 * bench.options.millis(3000) / 1000);
        bench.measure(TOPIC, TOPIC_1000, "open model, one message every millisecond; latency over both groups' deliveries",
                () -> groupsEndToEnd(2, rateCount, 1000));
        for (int groups : new int[] { 0, 2, 4 }) {
            bench.measure(TOPIC, String.format(PUBLISH, groups),
                    "sending rate, like the queue's row above; the groups drain at the same time",
                    () -> publish(groups, bench.options.count(6_000), false));
        }
        bench.measure(TOPIC, PER_GROUP, "as fast as one thread sends; the rate each group receives (PgQue's row beside it)",
                () -> publish(2, bench.options.count(6_000), true));
        int backlog = bench.options.count(200_000);
        for (int groups : new int[] { 1, 2, 4 }) {
            bench.measure(TOPIC, String.format(DRAIN_GROUPS, backlog, groups),
                    "every group receives every message; the rate counts every group's deliveries",
                    () -> drain(backlog, groups, 1));
        }
        for (int consumers : new int[] { 2, 4 }) {
            bench.measure(TOPIC, String.format(DRAIN_CONSUMERS, backlog, consumers),
                    "concurrentConsumers=" + consumers + " in one group", () -> drain(backlog, 1, consumers));
        }
    }

    /** Messages at a fixed rate, consumed by that many groups; every group's delivery counts. */
    private Run groupsEndToEnd(int groups, int count, double rate) throws Exception {
        reset();
        Receiver receiver = new Receiver(count * groups);
        String uri = uri("bench_t");
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    for (int g = 0; g < groups; g++) {
                        int offset = g * count;
                        from(uri + "&group=g" + g)
                                .process(exchange -> receiver.onMessage(exchange.getMessage().getBody(), offset));
                    }
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint(uri);
            Bench.sendAtRate(rate, (int) (bench.options.smoke() ? 50 : rate),
                    seq -> template.sendBody(endpoint, Receiver.warmUpBody(100)));
            long[] sent = Bench.sendAtRate(rate, count, seq -> template.sendBody(endpoint, Receiver.body(seq, 100)));
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run run = receiver.run(sent[0], String.format(Locale.ROOT, "offered %,d msg/s to %d groups", Math.round(rate),
                    groups));
            // the throughput of a fixed-rate run is the offered rate per group
            return run.withThroughput(run.throughput() / groups, run.detail());
        }
    }

    /**
     * One producer thread publishing as fast as it can while that many groups consume: its sending rate, or (perGroup)
     * the rate each group receives, from the first send to the last delivery.
     */
    private Run publish(int groups, int count, boolean perGroup) throws Exception {
        reset();
        Receiver receiver = new Receiver(Math.max(1, groups) * count);
        String uri = uri("bench_p");
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    for (int g = 0; g < groups; g++) {
                        int offset = g * count;
                        from(uri + "&group=g" + g)
                                .process(exchange -> receiver.onMessage(exchange.getMessage().getBody(), offset));
                    }
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            Endpoint endpoint = camel.getEndpoint(uri);
            Bench.sendAsFastAsPossible(1, bench.options.smoke() ? 50 : 1000,
                    seq -> template.sendBody(endpoint, Receiver.warmUpBody(100)));
            long[] sent = Bench.sendAsFastAsPossible(1, count,
                    seq -> template.sendBody(endpoint, Receiver.body(seq, 100)));
            double sendingRate = count / (sent[1] / 1e9);
            if (groups == 0) {
                return new Run(sendingRate, count, count, 0, null, "no consumer");
            }
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run delivered = receiver.run(sent[0], "");
            if (perGroup) {
                return delivered.withThroughput(delivered.throughput() / groups, String.format(Locale.ROOT,
                        "sent %,d msg/s", Math.round(sendingRate)));
            }
            return delivered.withThroughput(sendingRate, String.format(Locale.ROOT,
                    "delivered %,d msg/s per group", Math.round(delivered.throughput() / groups)));
        }
    }

    /**
     * A backlog written with SQL after the groups registered, drained by that many groups (each a route with that many
     * consumer threads); the rate counts every group's deliveries.
     */
    private Run drain(int backlog, int groups, int consumers) throws Exception {
        reset();
        Receiver receiver = new Receiver(backlog * groups);
        String uri = uri("bench_td");
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    for (int g = 0; g < groups; g++) {
                        int offset = g * backlog;
                        from(uri + "&group=g" + g + "&concurrentConsumers=" + consumers).routeId("g" + g)
                                .autoStartup(false)
                                .process(exchange -> receiver.onMessage(exchange.getMessage().getBody(), offset));
                    }
                }
            });
            camel.start();
            // register the groups, then write the backlog
            List<String> routes = new ArrayList<>();
            for (int g = 0; g < groups; g++) {
                routes.add("g" + g);
                camel.getRouteController().startRoute("g" + g);
                camel.getRouteController().stopRoute("g" + g);
            }
            bench.sql("INSERT INTO " + TABLE + " (channel, body_text) SELECT 'bench_td', g || ':0:' || repeat('x', 90)"
                      + " FROM generate_series(0, " + (backlog - 1) + ") AS g",
                    "VACUUM ANALYZE " + TABLE);
            long start = System.nanoTime();
            for (String route : routes) {
                camel.getRouteController().startRoute(route);
            }
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run run = receiver.run(start, "");
            return new Run(run.throughput(), run.expected(), run.delivered(), run.duplicates(), null,
                    groups > 1 ? String.format(Locale.ROOT, "%,d msg/s per group", Math.round(run.throughput() / groups))
                            : "");
        }
    }
}
