package dev.pgnotify.camel.history;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What a run looks like, apart from its seed: the mode, the traffic's mix, the consumers' settings and which faults
 * may be drawn. Small leases, poll intervals and retry delays, so that what a fault disturbs settles within the run.
 *
 * @param name         short name: the run's directory and tables are named after it
 * @param topic        mode=topic (else mode=queue)
 * @param groups       mode=topic: the consumer groups, each of which must receive every message
 * @param highIds      ids start at 2^40 (the queue's id, or the topic log's sequence and its items' identity)
 * @param faultSeconds how long messages are sent and faults injected, before the drain
 * @param drainSeconds how long the drain may take before what is missing is reported
 */
public record HistoryScenario(String name, boolean topic, List<String> groups, boolean highIds, int faultSeconds,
                              Traffic traffic, Consumers consumers, Faults faults, int drainSeconds) {

    /**
     * The mix of messages: shares are of all messages, drawn independently (a message may be keyed, delayed and fail
     * its first delivery). Priorities and delays exist in mode=queue only.
     *
     * @param perSecond         messages planned per second
     * @param keys              the size of the key set keyed messages draw from
     * @param fromChildProducer sent by the producer JVM (which may be killed) rather than the test's own
     */
    public record Traffic(int perSecond, int keys, double keyed, double priority, double delayed, long maxDelayMillis,
                          double failFirst, double alwaysFail, double interrupt, double rolledBack, double longWriter,
                          double fromChildProducer) {
    }

    /** The consumers: JVMs, threads in each (per group), and the options that bound recovery. */
    public record Consumers(int jvms, int threads, long leaseMillis, long pollMillis, int maxAttempts,
                            long retryDelayMillis, int batch) {

        /** The endpoint options of a consumer route (the group's, for topics). */
        String endpointOptions() {
            return "concurrentConsumers=" + threads + "&maxMessagesPerPoll=" + batch + "&leaseTime=" + leaseMillis
                   + "&pollInterval=" + pollMillis + "&maxAttempts=" + maxAttempts + "&retryDelay=" + retryDelayMillis
                   // frozen connections and a stopped server must cost seconds, not the default 20 s and 30 s
                   + "&statementTimeout=5000&connectTimeout=3000&maxReconnectDelay=1000";
        }
    }

    /** The fault schedule: one fault every minGap to maxGap milliseconds, of a kind drawn (by weight) from these. */
    public record Faults(long minGapMillis, long maxGapMillis, Set<FaultKind> kinds) {
    }

    private static final Set<FaultKind> SCHEDULED = EnumSet.of(FaultKind.KILL_CONSUMER, FaultKind.KILL_PRODUCER,
            FaultKind.TERMINATE_BACKENDS, FaultKind.FREEZE_CONNECTIONS, FaultKind.SERVER_RESTART,
            FaultKind.SERVER_CRASH, FaultKind.IDLE_IN_TRANSACTION, FaultKind.HELD_SNAPSHOT,
            FaultKind.FORCED_LEASE_EXPIRY);

    /**
     * mode=queue with keys, delays and priorities, every fault, and about three routes a run that interrupt their
     * thread (few: a consumer that stops on one leaves the others all the work, and would mask the rest of what a run
     * can find).
     */
    public static HistoryScenario queue(int faultSeconds) {
        double interrupts = Math.min(0.003, 3.0 / (faultSeconds * 30));
        return new HistoryScenario("queue", false, List.of(), false, faultSeconds,
                new Traffic(30, 6, 0.4, 0.2, 0.15, 3000, 0.1, 0.03, interrupts, 0.05, 0.05, 0.3),
                new Consumers(3, 2, 2500, 300, 3, 200, 10),
                new Faults(1500, 4000, SCHEDULED), 30);
    }

    /**
     * mode=topic with two groups, keys, every fault; no interrupts: an interrupted message is met by the routes of
     * both groups, and a consumer that stops on an interrupt stops the run (the queue scenario has them).
     */
    public static HistoryScenario topic(int faultSeconds) {
        return new HistoryScenario("topic", true, List.of("g1", "g2"), false, faultSeconds,
                new Traffic(25, 6, 0.4, 0, 0, 0, 0.1, 0.03, 0, 0.05, 0.05, 0.3),
                new Consumers(2, 2, 2500, 300, 3, 200, 10),
                new Faults(1500, 4000, SCHEDULED), 30);
    }

    /** mode=queue as {@link #queue(int)}, its ids starting at 2^40, without interrupts: the ids are its subject. */
    public static HistoryScenario queueHighIds(int faultSeconds) {
        HistoryScenario queue = queue(faultSeconds);
        HistoryScenario.Traffic t = queue.traffic;
        return new HistoryScenario("queue-high-ids", false, List.of(), true, faultSeconds,
                new Traffic(t.perSecond(), t.keys(), t.keyed(), t.priority(), t.delayed(), t.maxDelayMillis(),
                        t.failFirst(), t.alwaysFail(), 0, t.rolledBack(), t.longWriter(), t.fromChildProducer()),
                queue.consumers, queue.faults, queue.drainSeconds);
    }

    /** mode=topic as {@link #topic(int)}, the log's ids and its batches' ids starting at 2^40. */
    public static HistoryScenario topicHighIds(int faultSeconds) {
        HistoryScenario topic = topic(faultSeconds);
        return new HistoryScenario("topic-high-ids", true, topic.groups, true, faultSeconds, topic.traffic,
                topic.consumers, topic.faults, topic.drainSeconds);
    }

    /** One of the presets by name: queue, topic, queue-high-ids, topic-high-ids. */
    public static HistoryScenario named(String name, int faultSeconds) {
        return switch (name) {
            case "queue" -> queue(faultSeconds);
            case "topic" -> topic(faultSeconds);
            case "queue-high-ids" -> queueHighIds(faultSeconds);
            case "topic-high-ids" -> topicHighIds(faultSeconds);
            default -> throw new IllegalArgumentException("No history scenario " + name
                                                          + ": queue, topic, queue-high-ids or topic-high-ids");
        };
    }

    /** The command that replays this scenario with this seed: HistoryCheckerIT's test of the scenario. */
    public String replay(long seed) {
        String test = switch (name) {
            case "topic" -> "topicWithTwoGroups";
            case "queue-high-ids" -> "queueWithIdsFromTwoToThe40";
            case "topic-high-ids" -> "topicWithIdsFromTwoToThe40";
            default -> "queueWithKeysDelaysAndPriorities";
        };
        return "mvn -pl camel-pgnotify verify -Dit.test=HistoryCheckerIT#" + test
               + " -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dhistory.seed=" + seed + " -Dhistory.seconds="
               + faultSeconds;
    }

    /** The groups whose deliveries are checked apart: the topic's groups, or the queue's one (""). */
    public List<String> checkedGroups() {
        return topic ? groups : List.of("");
    }
}
