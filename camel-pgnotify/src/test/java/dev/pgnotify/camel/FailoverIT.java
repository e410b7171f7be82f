package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import dev.pgnotify.camel.test.HealthRecorder;
import dev.pgnotify.camel.test.PgStandbyPair;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.impl.DefaultCamelContext;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bad day of managed PostgreSQL: the primary goes away and a standby is promoted. Producer and consumer use a
 * multi-host URL with targetServerType=primary (as pgjdbc documents); a stream of messages runs through the failover.
 * Each test starts a primary and a streaming standby of its own ({@link PgStandbyPair}).
 * <p>
 * The bounds asserted, after the promotion (see docs/production.md, "Failover"): consumers deliver again within
 * {@link #RESUME_BOUND_MILLIS}; a message whose acknowledgement the failover lost is delivered again within leaseTime +
 * pollInterval + {@link #RESUME_BOUND_MILLIS}.
 */
class FailoverIT {

    private static final Logger LOG = LoggerFactory.getLogger(FailoverIT.class);

    private static final long CONNECT_TIMEOUT = 2000;
    private static final long STATEMENT_TIMEOUT = 2000;
    private static final long MAX_RECONNECT_DELAY = 1000;
    private static final long LEASE_TIME = 3000;
    private static final long POLL_INTERVAL = 1000;
    /** statementTimeout + connectTimeout + maxReconnectDelay + pollInterval: cut off, reconnect, wait, claim. */
    private static final long RESUME_BOUND_MILLIS = STATEMENT_TIMEOUT + CONNECT_TIMEOUT + MAX_RECONNECT_DELAY
                                                    + POLL_INTERVAL;
    /**
     * When the old primary froze (answers nothing, closes nothing), a new connection first waits for its login there:
     * pgjdbc's socketTimeout, statementTimeout + 1 s, then tries the next host (and skips the frozen one for
     * hostRecheckSeconds).
     */
    private static final long FROZEN_RESUME_BOUND_MILLIS = RESUME_BOUND_MILLIS + STATEMENT_TIMEOUT + 1000;
    private static final long REDELIVERY_BOUND_MILLIS = LEASE_TIME + POLL_INTERVAL + FROZEN_RESUME_BOUND_MILLIS;
    private static final int RATE = 500;
    private static final String QUEUE_LIVE = "SELECT count(*) FROM message_queue WHERE channel = '%s'";

    @Test
    void synchronousStandbyQueueLosesNothingAcknowledgedWhenThePrimaryCrashes() throws Exception {
        try (PgStandbyPair pair = PgStandbyPair.start(true)) {
            Outcome outcome = streamThroughFailover(pair, "pgnotify:fo_queue", "pgnotify:fo_queue?concurrentConsumers=2",
                    2000, Fault.STANDBY_BEHIND_THEN_CRASH, QUEUE_LIVE.formatted("fo_queue"));
            assertEquals(0, outcome.lost().size(), "every send acknowledged to the producer is delivered");
        }
    }

    @Test
    void synchronousStandbyTopicFollowsThePromotionWhenThePrimaryFreezes() throws Exception {
        try (PgStandbyPair pair = PgStandbyPair.start(true)) {
            String topic = "mode=topic&topicTable=fo_topic";
            Outcome outcome = streamThroughFailover(pair, "pgnotify:fo_orders?" + topic,
                    "pgnotify:fo_orders?" + topic + "&group=billing&concurrentConsumers=2", 2000, Fault.FREEZE,
                    "SELECT count(*) FROM fo_topic_items");
            assertEquals(0, outcome.lost().size(), "every send acknowledged to the producer is delivered");
        }
    }

    @Test
    void asynchronousStandbyLosesOnlyWhatItHadNotReceived() throws Exception {
        try (PgStandbyPair pair = PgStandbyPair.start(false)) {
            Outcome outcome = streamThroughFailover(pair, "pgnotify:fo_async", "pgnotify:fo_async?concurrentConsumers=2",
                    2000, Fault.BACKLOG_STANDBY_BEHIND_THEN_CRASH, QUEUE_LIVE.formatted("fo_async"));
            // the loss window: what the old primary committed after its standby stopped receiving
            long outside = outcome.lost().stream().filter(m -> outcome.acknowledgedAt().get(m) < outcome.behindSince())
                    .count();
            LOG.info("Asynchronous standby: {} acknowledged send(s) lost, all within the {} ms the standby was behind",
                    outcome.lost().size(), TimeUnit.NANOSECONDS.toMillis(outcome.faultAt() - outcome.behindSince()));
            assertEquals(0, outside, "nothing lost that was acknowledged before the standby fell behind");
            assertTrue(outcome.lost().size() > 0, "the window is real: sends the standby never received are lost");
        }
    }

    @Test
    void notifyConsumerRefusesAStandbyAndFollowsThePromotionFromAReadOnlyPrimary() throws Exception {
        try (PgStandbyPair pair = PgStandbyPair.start(false); CamelContext standbyOnly = context(pair.standbyJdbcUrl())) {
            standbyOnly.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:fo_refused?mode=notify").routeId("refused").log("never");
                }
            });
            Exception refused = assertThrows(Exception.class, standbyOnly::start);
            String message = ConsumerHealthCauses.of(refused);
            assertTrue(message.contains("hot standby") && message.contains("targetServerType=primary"), message);
            try (CamelContext producerOnly = context(pair.standbyJdbcUrl())) {
                producerOnly.start();
                Exception send = assertThrows(Exception.class, () -> producerOnly.createProducerTemplate()
                        .sendBody("pgnotify:fo_refused?mode=notify", "x"));
                String sendMessage = ConsumerHealthCauses.of(send);
                assertTrue(sendMessage.contains("hot standby") && sendMessage.contains("targetServerType"), sendMessage);
            }

            Map<String, Long> received = new ConcurrentHashMap<>();
            try (CamelContext camel = context(pair.multiHostJdbcUrl())) {
                camel.addRoutes(new RouteBuilder() {
                    @Override
                    public void configure() {
                        from("pgnotify:fo_notify?mode=notify").routeId("consumer")
                                .process(e -> received.put(e.getMessage().getBody(String.class), System.nanoTime()));
                    }
                });
                camel.start();
                ProducerTemplate template = camel.createProducerTemplate();
                template.sendBody("pgnotify:fo_notify?mode=notify", "before");
                await(Duration.ofSeconds(10)).until(() -> received.containsKey("before"));
                try (HealthRecorder health = new HealthRecorder(camel, "consumer")) {
                    pair.makePrimaryReadOnly();
                    pair.promote();
                    long promotedAt = System.nanoTime();
                    // the old primary answers, read-only (NOTIFY still works there, among its own sessions): what
                    // matters is that the consumer hears the producers of the new primary
                    AtomicLong sent = new AtomicLong();
                    try (CamelContext other = context(pair.standbyJdbcUrl())) {
                        other.start();
                        ProducerTemplate onNewPrimary = other.createProducerTemplate();
                        await(Duration.ofMillis(RESUME_BOUND_MILLIS * 3)).until(() -> {
                            onNewPrimary.sendBody("pgnotify:fo_notify?mode=notify", "after-" + sent.incrementAndGet());
                            return received.keySet().stream().anyMatch(b -> b.startsWith("after-"));
                        });
                    }
                    long resumedMillis = TimeUnit.NANOSECONDS.toMillis(received.entrySet().stream()
                            .filter(e -> e.getKey().startsWith("after-")).mapToLong(Map.Entry::getValue).min()
                            .orElseThrow() - promotedAt);
                    LOG.info("mode=notify: LISTEN on the new primary, a notification received {} ms after the"
                             + " promotion", resumedMillis);
                    assertTrue(resumedMillis <= RESUME_BOUND_MILLIS,
                            "LISTEN on the new primary within " + RESUME_BOUND_MILLIS + " ms: " + resumedMillis);
                    assertTrue(health.firstDownAfter(promotedAt).isPresent(), "DOWN while on the read-only server");
                    await(Duration.ofSeconds(10)).until(() -> health.latest().map(HealthRecorder.Sample::state)
                            .orElse(null) == HealthCheck.State.UP);
                }
            }
        }
    }

    /** How the old primary goes away, after the standby was promoted or before. */
    private enum Fault {
        /** The standby falls behind for a while, then the primary crashes and the standby is promoted. */
        STANDBY_BEHIND_THEN_CRASH,
        /**
         * As above, with the consumer paused meanwhile (a backlog): what the old primary took and did not ship is
         * then undelivered when it crashes, which makes the loss window visible.
         */
        BACKLOG_STANDBY_BEHIND_THEN_CRASH,
        /** The primary freezes (answers nothing, closes nothing), then the standby is promoted. */
        FREEZE
    }

    private record Outcome(Set<String> lost, Map<String, Long> acknowledgedAt, long behindSince, long faultAt) {
    }

    /**
     * Sends {@code messages} at {@value #RATE} msg/s through a failover a third of the way in; asserts what holds in
     * every mode (resumed within the bound, health DOWN then UP, every redelivery within its bound) and returns what
     * was lost.
     */
    private Outcome streamThroughFailover(PgStandbyPair pair, String to, String from, int messages, Fault fault,
                                          String liveItemsSql) throws Exception {
        Map<String, List<Long>> deliveries = new ConcurrentHashMap<>();
        Map<String, Long> acknowledgedAt = new ConcurrentHashMap<>();
        AtomicLong lastDelivery = new AtomicLong();
        try (CamelContext camel = context(pair.multiHostJdbcUrl())) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("direct:send").routeId("sender")
                            .errorHandler(defaultErrorHandler().maximumRedeliveries(300).redeliveryDelay(100))
                            .to(to);
                    from(from).routeId("consumer").process(e -> {
                        long now = System.nanoTime();
                        deliveries.computeIfAbsent(e.getMessage().getBody(String.class),
                                k -> new CopyOnWriteArrayList<>()).add(now);
                        lastDelivery.set(now);
                    });
                }
            });
            camel.start();
            ProducerTemplate template = camel.createProducerTemplate();
            ExecutorService producer = camel.getExecutorServiceManager().newSingleThreadExecutor(this, "producer");
            Future<?> sending = producer.submit(() -> {
                long start = System.nanoTime();
                for (int i = 0; i < messages; i++) {
                    // paced, not synchronised: the offered load of a steady producer
                    LockSupport.parkNanos(start + i * (TimeUnit.SECONDS.toNanos(1) / RATE) - System.nanoTime());
                    template.sendBody("direct:send", "m" + i);
                    acknowledgedAt.put("m" + i, System.nanoTime());
                }
            });
            long behindSince;
            long faultAt;
            try (HealthRecorder health = new HealthRecorder(camel, "consumer")) {
                await(Duration.ofSeconds(60)).until(() -> deliveries.size() >= messages / 3);
                behindSince = System.nanoTime();
                if (fault != Fault.FREEZE) {
                    if (fault == Fault.BACKLOG_STANDBY_BEHIND_THEN_CRASH) {
                        camel.getRouteController().suspendRoute("consumer");
                    }
                    pair.stopReceiving();
                    // long enough for a commit waiting on a synchronous standby to pass statementTimeout
                    await(Duration.ofSeconds(10)).pollDelay(Duration.ofMillis(STATEMENT_TIMEOUT + 1500))
                            .until(() -> true);
                    faultAt = System.nanoTime();
                    pair.crashPrimary();
                } else {
                    faultAt = System.nanoTime();
                    pair.freezePrimary();
                }
                pair.promote();
                long promotedAt = System.nanoTime();
                if (fault == Fault.BACKLOG_STANDBY_BEHIND_THEN_CRASH) {
                    camel.getRouteController().resumeRoute("consumer");
                }
                await(Duration.ofMillis(FROZEN_RESUME_BOUND_MILLIS * 3)).until(() -> lastDelivery.get() > promotedAt);
                long resumedMillis = TimeUnit.NANOSECONDS.toMillis(lastDelivery.get() - promotedAt);
                assertTrue(health.firstDownAfter(faultAt).isPresent(), "DOWN while the primary is gone");
                await(Duration.ofMillis(RESUME_BOUND_MILLIS * 3)).until(() -> health.latest()
                        .map(HealthRecorder.Sample::state).orElse(null) == HealthCheck.State.UP);
                long upMillis = TimeUnit.NANOSECONDS.toMillis(health.latest().orElseThrow().nanos() - promotedAt);
                sending.get(120, TimeUnit.SECONDS);
                // done once the new primary holds nothing unacknowledged: no redelivery can follow
                await(Duration.ofMillis(REDELIVERY_BOUND_MILLIS * 3)).until(() -> pair.queryNewPrimary(liveItemsSql) == 0);
                Set<String> lost = ConcurrentHashMap.newKeySet();
                acknowledgedAt.keySet().stream().filter(m -> !deliveries.containsKey(m)).forEach(lost::add);
                List<Long> redeliveredAfter = deliveries.values().stream().filter(d -> d.size() > 1)
                        .map(d -> TimeUnit.NANOSECONDS.toMillis(d.get(d.size() - 1) - promotedAt)).sorted().toList();
                LOG.info("{} -> failover ({}): consumer delivered again {} ms after the promotion, health UP after {} ms;"
                         + " {} sends acknowledged, {} lost, {} delivered twice, again at {} ms after the promotion",
                        from, fault, resumedMillis, upMillis, acknowledgedAt.size(), lost.size(),
                        redeliveredAfter.size(), redeliveredAfter);
                long bound = fault == Fault.FREEZE ? FROZEN_RESUME_BOUND_MILLIS : RESUME_BOUND_MILLIS;
                assertTrue(resumedMillis <= bound,
                        "delivering again within " + bound + " ms of the promotion: " + resumedMillis);
                assertTrue(redeliveredAfter.stream().allMatch(ms -> ms <= REDELIVERY_BOUND_MILLIS),
                        "every lost acknowledgement redelivered within " + REDELIVERY_BOUND_MILLIS + " ms: "
                                                                                      + redeliveredAfter);
                return new Outcome(lost, acknowledgedAt, behindSince, faultAt);
            } finally {
                producer.shutdownNow();
            }
        }
    }

    private static CamelContext context(String jdbcUrl) {
        CamelContext camel = new DefaultCamelContext();
        PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(jdbcUrl);
        component.getConfiguration().setUsername("postgres");
        component.getConfiguration().setConnectTimeout(CONNECT_TIMEOUT);
        component.getConfiguration().setStatementTimeout(STATEMENT_TIMEOUT);
        component.getConfiguration().setMaxReconnectDelay(MAX_RECONNECT_DELAY);
        component.getConfiguration().setConnectionCheckInterval(1000);
        component.getConfiguration().setLeaseTime(LEASE_TIME);
        component.getConfiguration().setPollInterval(POLL_INTERVAL);
        return camel;
    }

    private static ConditionFactory await(Duration atMost) {
        return Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(20));
    }

    /** The messages along a failure's chain of causes. */
    private static final class ConsumerHealthCauses {
        static String of(Throwable failure) {
            StringBuilder text = new StringBuilder();
            for (Throwable t = failure; t != null; t = t.getCause()) {
                text.append(t.getMessage()).append(" | ");
            }
            return text.toString();
        }
    }
}
