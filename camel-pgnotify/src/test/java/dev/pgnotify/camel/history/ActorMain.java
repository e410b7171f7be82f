package dev.pgnotify.camel.history;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyComponent;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;

/**
 * An actor in a JVM of its own ({@link ActorJvm}): consumer routes, a producer, or both, recording every event in its
 * own file. Prints {@code READY <name>} once its routes run; a producer then waits for a line {@code GO <run start
 * micros> <from millis>} on its standard input, sends its part of the plan and prints {@code DONE}. Closing its
 * standard input stops it cleanly; SIGKILL stops it as a crash does.
 * <p>
 * Arguments, key=value: name, events (file), url, user, password (pgnotify's database: the consumers' go through the
 * freezing proxy), consume (an endpoint URI; repeated for several routes) and workers (how many consumer threads they
 * run in all), and for a producer plan (a plan file), topic, channel, table, sqlUrl (straight to the server).
 * <p>
 * A consumer records every second how many of its consumer threads run their claim loop: a route or a fault that
 * stopped some of them while the route still looks started shows there.
 */
public final class ActorMain {

    private static final long START_TIMEOUT_MILLIS = 60_000;
    /** The claim loop of a consumer thread (pgnotify's, looked at from outside: its name is all this relies on). */
    /** The claim engine's worker loop (package-private, so by name; checked at start so that a rename fails loudly). */
    private static final String WORKER_CLASS = "dev.pgnotify.camel.claim.Worker";

    static {
        try {
            Class.forName(WORKER_CLASS);
        } catch (ClassNotFoundException e) {
            throw new ExceptionInInitializerError("the claim engine's worker class " + WORKER_CLASS + " is gone: the"
                                                  + " census of working consumer threads must follow it");
        }
    }

    private ActorMain() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, List<String>> options = options(args);
        String name = one(options, "name");
        try (EventLog events = new EventLog(Path.of(one(options, "events")))) {
            events.append(EventLog.JVM_START, "jvm", name, "pid", ProcessHandle.current().pid());
            CamelContext camel = startCamel(options, new DeliveryRecorder(events, name));
            ScheduledExecutorService census = Executors.newSingleThreadScheduledExecutor(runnable -> {
                Thread thread = new Thread(runnable, "history-consumer-census");
                thread.setDaemon(true);
                return thread;
            });
            if (options.containsKey("consume")) {
                // every second: a consumer thread that leaves its claim loop shows within a second, even in a JVM
                // that is killed later
                census.scheduleWithFixedDelay(() -> events.append(EventLog.CONSUMERS, "jvm", name, "expected",
                        one(options, "workers"), "working", workingConsumerThreads()), 1, 1, TimeUnit.SECONDS);
            }
            try (camel) {
                System.out.println("READY " + name);
                System.out.flush();
                BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                if (options.containsKey("plan")) {
                    produce(options, camel, events, name, stdin);
                }
                while (stdin.readLine() != null) {
                    // the test closes our standard input to stop us
                }
                // no census while the context stops: its threads leave their loops then, as they should
                census.shutdown();
                census.awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * The context with its consumer routes, started; retried for a while, since a replacement may start while the
     * server is restarting.
     */
    private static CamelContext startCamel(Map<String, List<String>> options, DeliveryRecorder recorder)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
        while (true) {
            CamelContext camel = new DefaultCamelContext();
            try {
                PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
                component.getConfiguration().setJdbcUrl(one(options, "url"));
                component.getConfiguration().setUsername(options.containsKey("user") ? one(options, "user") : null);
                component.getConfiguration().setPassword(options.containsKey("password") ? one(options, "password")
                        : null);
                camel.getShutdownStrategy().setTimeout(10);
                camel.addRoutes(new RouteBuilder() {
                    @Override
                    public void configure() {
                        // the failure must reach the consumer, which retries or dead-letters the message
                        errorHandler(noErrorHandler());
                        for (String uri : options.getOrDefault("consume", List.of())) {
                            from(uri).process(recorder);
                        }
                    }
                });
                camel.start();
                return camel;
            } catch (Exception e) {
                camel.close();
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                System.err.println("Cannot start yet (" + e + "); trying again");
                // a pause between attempts while the server comes back, not a synchronisation
                TimeUnit.MILLISECONDS.sleep(500);
            }
        }
    }

    /**
     * The consumer threads still running their claim loop: a thread whose stack is in a consumer worker's run(). An
     * idle thread of the pool does not count, nor one whose loop has ended while its route looks started.
     */
    private static long workingConsumerThreads() {
        return Thread.getAllStackTraces().values().stream()
                .filter(stack -> java.util.Arrays.stream(stack).anyMatch(
                        frame -> frame.getClassName().equals(WORKER_CLASS) && frame.getMethodName().equals("run")))
                .count();
    }

    private static void produce(Map<String, List<String>> options, CamelContext camel, EventLog events, String name,
                                BufferedReader stdin) throws Exception {
        List<PlannedMessage> plan = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(one(options, "plan")))) {
            plan.add(PlannedMessage.parseLine(line));
        }
        HistoryTarget target = new HistoryTarget(Boolean.parseBoolean(one(options, "topic")), one(options, "channel"),
                one(options, "table"));
        Db db = new Db(one(options, "sqlUrl"), options.containsKey("user") ? one(options, "user") : null,
                options.containsKey("password") ? one(options, "password") : null);
        String go = stdin.readLine();
        if (go == null || !go.startsWith("GO ")) {
            return;
        }
        String[] words = go.split(" ");
        try (PlanProducer producer = new PlanProducer(events, name, target, camel.createProducerTemplate(), db)) {
            producer.start(plan, Long.parseLong(words[1]), Long.parseLong(words[2]));
            long last = plan.stream().mapToLong(PlannedMessage::offsetMillis).max().orElse(0);
            producer.awaitDone(Duration.ofMillis(last + 60_000));
        }
        System.out.println("DONE " + name);
        System.out.flush();
    }

    private static Map<String, List<String>> options(String[] args) {
        Map<String, List<String>> options = new LinkedHashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            options.computeIfAbsent(arg.substring(0, eq), k -> new ArrayList<>()).add(arg.substring(eq + 1));
        }
        return options;
    }

    private static String one(Map<String, List<String>> options, String key) {
        List<String> values = options.get(key);
        if (values == null || values.size() != 1) {
            throw new IllegalArgumentException("expected one " + key + "=..., got " + values);
        }
        return values.get(0);
    }
}
