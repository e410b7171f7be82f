package dev.pgnotify.camel.history;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What a run does, drawn from one seed: the same seed and scenario always give the same plan (the same messages, the
 * same faults at the same times), which is what makes a violation replayable. What the run then meets (thread
 * scheduling, which backend a pid belongs to) is not replayable; the plan is.
 */
public final class HistoryPlan {

    private final HistoryScenario scenario;
    private final long seed;
    private final List<PlannedMessage> messages;
    private final List<PlannedFault> faults;

    private HistoryPlan(HistoryScenario scenario, long seed, List<PlannedMessage> messages, List<PlannedFault> faults) {
        this.scenario = scenario;
        this.seed = seed;
        this.messages = messages;
        this.faults = faults;
    }

    public static HistoryPlan generate(HistoryScenario scenario, long seed) {
        // messages and faults from separate streams: a change to one part of the plan leaves the other as it was
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom forMessages = root.split();
        SplittableRandom forFaults = root.split();
        return new HistoryPlan(scenario, seed, messages(scenario, forMessages), faults(scenario, forFaults));
    }

    private static List<PlannedMessage> messages(HistoryScenario scenario, SplittableRandom random) {
        HistoryScenario.Traffic t = scenario.traffic();
        int maxAttempts = scenario.consumers().maxAttempts();
        int count = scenario.faultSeconds() * t.perSecond();
        double interval = 1000.0 / t.perSecond();
        List<PlannedMessage> messages = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String token = String.format("m%06d", i);
            // evenly spread, with jitter: messages of one key often come close together
            long offset = (long) (i * interval + random.nextDouble() * interval);
            String key = random.nextDouble() < t.keyed() ? "k" + random.nextInt(t.keys()) : null;
            int priority = !scenario.topic() && random.nextDouble() < t.priority() ? 1 + random.nextInt(9) : 0;
            long delay = !scenario.topic() && random.nextDouble() < t.delayed() ? 1 + random.nextLong(t.maxDelayMillis())
                    : 0;
            double outcome = random.nextDouble();
            int failures = outcome < t.alwaysFail() ? PlannedMessage.ALWAYS
                    : outcome < t.alwaysFail() + t.failFirst() ? 1 + random.nextInt(maxAttempts - 1) : 0;
            // the interrupt comes on the delivery that succeeds: the route returns normally with the flag set
            int interrupt = failures != PlannedMessage.ALWAYS && random.nextDouble() < t.interrupt() ? failures + 1 : 0;
            double way = random.nextDouble();
            PlannedMessage.Path path;
            long hold = 0;
            if (way < t.rolledBack()) {
                path = PlannedMessage.Path.SQL_ROLLBACK;
                hold = random.nextLong(1000);
            } else if (way < t.rolledBack() + t.longWriter()) {
                path = PlannedMessage.Path.SQL_LONG;
                hold = 1000 + random.nextLong(4001);
            } else if (way < t.rolledBack() + t.longWriter() + t.fromChildProducer()) {
                path = PlannedMessage.Path.CHILD;
            } else {
                path = PlannedMessage.Path.CAMEL;
            }
            int work = 2 + random.nextInt(30);
            messages.add(new PlannedMessage(token, offset, key, priority, delay, failures, interrupt, path, hold, work));
        }
        return Collections.unmodifiableList(messages);
    }

    private static List<PlannedFault> faults(HistoryScenario scenario, SplittableRandom random) {
        List<FaultKind> kinds = new ArrayList<>();
        for (FaultKind kind : scenario.faults().kinds()) {
            for (int w = 0; w < kind.weight(); w++) {
                kinds.add(kind);
            }
        }
        List<PlannedFault> faults = new ArrayList<>();
        if (kinds.isEmpty()) {
            return faults;
        }
        HistoryScenario.Faults f = scenario.faults();
        long end = scenario.faultSeconds() * 1000L;
        // the first fault once the consumers had a moment to work; the last one early enough to end within the phase
        for (long at = 1000 + random.nextLong(f.maxGapMillis()); at < end - 1000;
             at += f.minGapMillis() + random.nextLong(f.maxGapMillis() - f.minGapMillis() + 1)) {
            FaultKind kind = kinds.get(random.nextInt(kinds.size()));
            long hold = switch (kind) {
                case FREEZE_CONNECTIONS -> 2000 + random.nextLong(3001);
                case IDLE_IN_TRANSACTION, HELD_SNAPSHOT -> 2000 + random.nextLong(8001);
                default -> 0;
            };
            faults.add(new PlannedFault(at, kind, hold, random.nextInt(1 << 16)));
        }
        return Collections.unmodifiableList(faults);
    }

    public HistoryScenario scenario() {
        return scenario;
    }

    public long seed() {
        return seed;
    }

    public List<PlannedMessage> messages() {
        return messages;
    }

    public List<PlannedFault> faults() {
        return faults;
    }

    /** The messages sent along this path. */
    public List<PlannedMessage> sentBy(PlannedMessage.Path path) {
        return messages.stream().filter(m -> m.path() == path).toList();
    }

    /** How many faults of each kind the plan schedules. */
    public Map<FaultKind, Integer> faultCounts() {
        Map<FaultKind, Integer> counts = new EnumMap<>(FaultKind.class);
        faults.forEach(f -> counts.merge(f.kind(), 1, Integer::sum));
        return counts;
    }
}
