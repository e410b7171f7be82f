package dev.pgnotify.camel.history;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.test.FreezingProxy;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.Producer;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.service.ServiceHelper;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a plan against a restartable server: sets up the tables, starts the consumer JVMs (through the freezing
 * proxy) and the producer JVM, sends the plan's messages (from the producer JVM and this one) while injecting its
 * faults, stops the faults and drains (bounded), stops every actor, then checks the events and the final state.
 * Everything it starts it stops, also when it fails.
 */
public final class HistoryRun {

    private static final Logger LOG = LoggerFactory.getLogger(HistoryRun.class);
    private static final long HIGH_ID = 1L << 40;
    /** Beyond the fault phase: the slowest fault (a restart, a replacement JVM) and the last long writer. */
    private static final Duration PHASE_SLACK = Duration.ofSeconds(90);

    /** What a run gives: the check's result, with what is needed to read it and to replay it. */
    public record Outcome(HistoryScenario scenario, long seed, String replay, Path directory, CheckResult result,
                          int faultsPlanned, boolean drained, long faultPhaseMillis, long drainMillis,
                          long totalMillis) {

        public boolean passed() {
            return result.violations().isEmpty();
        }

        /** The report, with at most this many violations spelled out. */
        public String report(int maxViolations) {
            return HistoryReport.text(this, maxViolations);
        }
    }

    private final HistoryScenario scenario;
    private final long seed;
    private final int round;
    private final PgTestServer server;
    private final Path directory;
    private final String replay;

    /**
     * @param server    a server from {@link PgTestServer#embeddedRestartable}: the faults stop and start it
     * @param round     distinguishes the tables of runs of one seed on one server (0 for the first)
     * @param directory where the event files, logs and report go
     * @param replay    how to run this seed again, for the failure messages
     */
    public HistoryRun(HistoryScenario scenario, long seed, int round, PgTestServer server, Path directory,
                      String replay) {
        this.scenario = scenario;
        this.seed = seed;
        this.round = round;
        this.server = server;
        this.directory = directory;
        this.replay = replay;
    }

    public Outcome run() throws Exception {
        long started = System.nanoTime();
        HistoryPlan plan = HistoryPlan.generate(scenario, seed);
        HistoryTarget target = HistoryTarget.of(scenario, seed, round);
        LOG.info("History run {} with seed {}: {} messages, {} faults {} over {} s; replay: {}", scenario.name(), seed,
                plan.messages().size(), plan.faults().size(), plan.faultCounts(), scenario.faultSeconds(), replay);
        prepareDirectory();
        Db db = new Db(server.jdbcUrl(), server.username(), server.password());
        long faultPhaseMillis;
        long drainMillis;
        boolean drained;
        try (EventLog events = new EventLog(directory.resolve("main.events"));
             FreezingProxy proxy = FreezingProxy.inFrontOf(server.jdbcUrl());
             CamelContext camel = producerContext()) {
            camel.start();
            createTables(camel, target, db);
            List<PlannedMessage> fromChild = plan.sentBy(PlannedMessage.Path.CHILD);
            Path planFile = directory.resolve("producer.plan");
            Files.write(planFile, fromChild.stream().map(PlannedMessage::toLine).toList());
            // set once the actors are up; a replacement producer reads it when it starts
            AtomicLong runStart = new AtomicLong();
            try (ActorSlots consumers = new ActorSlots("consumer", directory, scenario.consumers().jvms(),
                         name -> consumerArguments(name, proxy, target), (actor, replacement) -> { });
                 ActorSlots producer = new ActorSlots("producer", directory, fromChild.isEmpty() ? 0 : 1,
                         name -> producerArguments(name, planFile, target), (actor, replacement) -> {
                             if (replacement) {
                                 // a replacement goes on with the messages planned from now on
                                 actor.tell("GO " + runStart.get() + " "
                                            + (EventLog.nowMicros() - runStart.get()) / 1000);
                             }
                         })) {
                consumers.startAll();
                producer.startAll();
                // a moment for the producer JVM to read its GO before its first message is due
                runStart.set(EventLog.nowMicros() + 300_000);
                events.append(EventLog.RUN, "start", runStart.get(), "seed", seed, "scenario", scenario.name(),
                        "table", target.table());
                if (producer.size() > 0) {
                    producer.actor(0).tell("GO " + runStart.get() + " 0");
                }
                long phaseStart = System.nanoTime();
                runFaultPhase(plan, events, target, db, camel, proxy, consumers, producer, runStart.get());
                faultPhaseMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - phaseStart);
                long drainStart = System.nanoTime();
                drained = drain(db, target);
                drainMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drainStart);
            }
        }
        FinalState state = FinalState.read(db, target);
        History history = History.of(Event.readAll(directory));
        CheckResult result = new HistoryChecker(history, state, scenario).check(plan.messages().size());
        Outcome outcome = new Outcome(scenario, seed, replay, directory, result, plan.faults().size(), drained,
                faultPhaseMillis, drainMillis, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        Files.writeString(directory.resolve("report.txt"), outcome.report(Integer.MAX_VALUE));
        LOG.info("History run {} with seed {} done in {} s: {} violation(s); report in {}", scenario.name(), seed,
                outcome.totalMillis() / 1000, result.violations().size(), directory.resolve("report.txt"));
        return outcome;
    }

    /** Sends the plan and injects its faults; returns once every send and fault has ended (bounded). */
    private void runFaultPhase(HistoryPlan plan, EventLog events, HistoryTarget target, Db db, CamelContext camel,
                               FreezingProxy proxy, ActorSlots consumers, ActorSlots producer, long runStart)
            throws Exception {
        List<PlannedMessage> fromHere = new ArrayList<>(plan.messages());
        fromHere.removeIf(m -> m.path() == PlannedMessage.Path.CHILD);
        Duration bound = Duration.ofSeconds(scenario.faultSeconds()).plus(PHASE_SLACK);
        try (PlanProducer sender = new PlanProducer(events, "main", target, camel.createProducerTemplate(), db);
             FaultInjector faults = new FaultInjector(plan.faults(), events,
                     new FaultInjector.Targets(server, proxy, consumers, producer.size() > 0 ? producer : null, db,
                             target))) {
            sender.start(fromHere, runStart, 0);
            faults.start(runStart);
            if (!sender.awaitDone(bound)) {
                LOG.warn("History run {} seed {}: the sends did not end within {} s", scenario.name(), seed,
                        bound.toSeconds());
            }
            if (!faults.awaitDone(bound)) {
                LOG.warn("History run {} seed {}: the faults did not end within {} s", scenario.name(), seed,
                        bound.toSeconds());
            }
            if (producer.size() > 0 && !producer.actor(0).awaitDone(Duration.ofSeconds(60))) {
                LOG.warn("History run {} seed {}: the producer JVM did not finish its sends", scenario.name(), seed);
            }
        }
    }

    /**
     * Waits, with the faults stopped, until nothing is left to deliver (the queue is empty, every topic group's lag is
     * 0): bounded by the scenario's drain time, after which what is missing is the checker's to report.
     */
    private boolean drain(Db db, HistoryTarget target) {
        try {
            Awaitility.await("the drain of " + target.table()).atMost(Duration.ofSeconds(scenario.drainSeconds()))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> FinalState.read(db, target).drained());
            return true;
        } catch (ConditionTimeoutException e) {
            LOG.warn("History run {} seed {}: not drained within {} s", scenario.name(), seed, scenario.drainSeconds());
            return false;
        }
    }

    /** The test JVM's own producers: straight to the server (the proxy is the consumers'). */
    private CamelContext producerContext() {
        CamelContext camel = new DefaultCamelContext();
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(server.jdbcUrl());
        component.getConfiguration().setUsername(server.username());
        component.getConfiguration().setPassword(server.password());
        return camel;
    }

    /** A producer's start creates the tables; then the ids may be moved to 2^40. */
    private void createTables(CamelContext camel, HistoryTarget target, Db db) throws Exception {
        Producer producer = camel.getEndpoint(target.producerUri()).createProducer();
        ServiceHelper.startService(producer);
        ServiceHelper.stopService(producer);
        if (scenario.highIds()) {
            try (var connection = db.connect(); var statement = connection.createStatement()) {
                if (target.topic()) {
                    statement.execute("ALTER SEQUENCE " + target.table() + "_id_seq RESTART WITH " + HIGH_ID);
                    statement.execute("ALTER TABLE " + target.itemsTable() + " ALTER COLUMN id RESTART WITH " + HIGH_ID);
                } else {
                    statement.execute("ALTER TABLE " + target.table() + " ALTER COLUMN id RESTART WITH " + HIGH_ID);
                }
            }
        }
    }

    private List<String> consumerArguments(String name, FreezingProxy proxy, HistoryTarget target) {
        List<String> arguments = actorArguments(name, proxy.jdbcUrl(server.jdbcUrl()));
        String options = scenario.consumers().endpointOptions();
        arguments.add("workers=" + scenario.consumers().threads() * scenario.checkedGroups().size());
        if (target.topic()) {
            scenario.groups().forEach(group -> arguments.add("consume=" + target.consumerUri(group, options)));
        } else {
            arguments.add("consume=" + target.consumerUri(null, options));
        }
        return arguments;
    }

    private List<String> producerArguments(String name, Path planFile, HistoryTarget target) {
        List<String> arguments = actorArguments(name, server.jdbcUrl());
        arguments.addAll(List.of("plan=" + planFile, "topic=" + target.topic(), "channel=" + target.channel(),
                "table=" + target.table(), "sqlUrl=" + server.jdbcUrl()));
        return arguments;
    }

    private List<String> actorArguments(String name, String url) {
        List<String> arguments = new ArrayList<>(List.of("name=" + name,
                "events=" + ActorSlots.eventFile(directory, name), "url=" + url));
        if (server.username() != null) {
            arguments.add("user=" + server.username());
        }
        if (server.password() != null) {
            arguments.add("password=" + server.password());
        }
        return arguments;
    }

    /** A fresh directory: the events of an earlier run of the same seed would mix with this one's. */
    private void prepareDirectory() throws IOException {
        Files.createDirectories(directory);
        try (Stream<Path> old = Files.list(directory)) {
            for (Path file : old.toList()) {
                Files.delete(file);
            }
        }
    }
}
