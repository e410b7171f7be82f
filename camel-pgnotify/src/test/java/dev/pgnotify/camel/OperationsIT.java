package dev.pgnotify.camel;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import dev.pgnotify.camel.claim.ClaimingConsumer;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.console.DevConsole;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.test.junit5.TestExecutionConfiguration;
import org.apache.camel.util.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What operators see and do, against known queue states: a channel with messages waiting, one with a message in
 * flight and one waiting for its retry, one with dead letters. The dev console (JSON and text), the JMX attributes of
 * endpoints and consumers, and every operation: dead letters delivered again (by id, all) or deleted, through JMX and
 * through a producer's operation header; a consumer paused and resumed.
 */
class OperationsIT extends PgNotifyITSupport {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OperationsIT.class);

    private static final String TABLE = "ops_it_queue";
    private static final String WAITING = "pgnotify:ops-waiting?table=" + TABLE;
    private static final String WORK = "pgnotify:ops-work?table=" + TABLE
                                       + "&maxAttempts=3&retryDelay=60000&concurrentConsumers=2";
    private static final String DEAD = "pgnotify:ops-dead?table=" + TABLE + "&maxAttempts=1";
    private static final String PAUSABLE = "pgnotify:ops-pause?table=" + TABLE;

    private final CountDownLatch blocking = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicBoolean poisonCured = new AtomicBoolean();

    @Override
    public void configureTest(TestExecutionConfiguration configuration) {
        super.configureTest(configuration);
        configuration.withEnableJMX();
    }

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead CASCADE");
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(WORK).routeId("ops-work").process(exchange -> {
                    String body = exchange.getMessage().getBody(String.class);
                    if (body.equals("block")) {
                        blocking.countDown();
                        release.await(30, TimeUnit.SECONDS);
                    } else if (body.equals("fail")) {
                        throw new IllegalStateException("fails, retried in a minute");
                    }
                });
                from(DEAD).routeId("ops-dead").process(exchange -> {
                    if (!poisonCured.get()) {
                        throw new IllegalStateException("poison");
                    }
                }).to("mock:cured");
                from(PAUSABLE).routeId("ops-pause").to("mock:paused");
            }
        };
    }

    @AfterEach
    void releaseBlockedRoute() {
        release.countDown();
    }

    @Test
    void theConsoleAndJmxShowEachStateAndTheOperationsWork() throws Exception {
        // known states
        for (int i = 0; i < 3; i++) {
            template.sendBody(WAITING, "waiting " + i);
        }
        template.sendBody(WORK, "block");
        assertTrue(blocking.await(10, TimeUnit.SECONDS));
        template.sendBody(WORK, "fail");
        template.sendBodyAndHeader(WORK, "tomorrow's", PgNotifyConstants.DELAY, Duration.ofDays(1));
        long firstPoison = template.send(DEAD, exchange -> exchange.getMessage().setBody("poison 1")).getMessage()
                .getHeader(PgNotifyConstants.MESSAGE_ID, Long.class);
        template.sendBody(DEAD, "poison 2");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dead") == 2
                                                  && count("SELECT count(*) FROM " + TABLE
                                                           + " WHERE last_error IS NOT NULL") == 1);

        // the dev console, JSON
        DevConsole console = PluginHelper.getDevConsoleResolver(context).resolveDevConsole("pgnotify");
        assertNotNull(console, "found through its generated service file");
        await(Duration.ofSeconds(5)).untilAsserted(() -> {
            Map<String, JsonObject> channels = channels(console);
            assertFigures(channels.get("ops-waiting"), 3, 0, 0, 0, 0);
            assertFigures(channels.get("ops-work"), 0, 1, 1, 1, 0);
            assertFigures(channels.get("ops-dead"), 0, 0, 0, 0, 2);
        });
        JsonObject json = (JsonObject) console.call(DevConsole.MediaType.JSON);
        // sent before the waits above: an age never computed (0) would pass a check of >= 0
        assertTrue(channels(console).get("ops-waiting").getLong("oldestAgeMillis") > 0);
        List<Object> consumers = List.copyOf(json.getCollection("consumers"));
        JsonObject dead = consumers.stream().map(JsonObject.class::cast)
                .filter(c -> c.getString("routeId").equals("ops-dead")).findFirst().orElseThrow();
        assertEquals("UP", dead.getString("state"));
        assertEquals(2L, ((Number) dead.getMap("details").get("deadLettered")).longValue());
        assertEquals(true, dead.getMap("details").get("listening"));
        JsonObject notificationQueue = (JsonObject) List.copyOf(json.getCollection("notificationQueues")).get(0);
        assertTrue(notificationQueue.getDouble("usage") >= 0, notificationQueue.toString());
        String text = (String) console.call(DevConsole.MediaType.TEXT);
        LOG.info("The pgnotify dev console:\n{}", text);
        assertTrue(text.contains("queue ops-work (ops_it_queue): 0 waiting, 1 in flight, 1 retrying, 1 delayed, 0 dead"), text);
        assertTrue(text.contains("ops-dead (pgnotify:ops-dead) UP"), text);

        // JMX: the endpoints' figures and the consumers' counters
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName deadEndpoint = mbean("endpoints", "pgnotify://ops-dead*");
        assertEquals(2L, jmx.getAttribute(deadEndpoint, "DeadLetters"));
        ObjectName workEndpoint = mbean("endpoints", "pgnotify://ops-work*");
        assertEquals(1L, jmx.getAttribute(workEndpoint, "InFlightMessages"));
        assertEquals(1L, jmx.getAttribute(workEndpoint, "RetryingMessages"));
        assertEquals("queue", jmx.getAttribute(workEndpoint, "Mode"));
        assertEquals(1L, jmx.getAttribute(workEndpoint, "DelayedMessages"));
        ObjectName deadConsumer = consumerMBean("ops-dead");
        assertEquals(2L, jmx.getAttribute(deadConsumer, "DeadLetteredCount"));
        assertEquals(true, jmx.getAttribute(deadConsumer, "Listening"));
        assertNotNull(jmx.getAttribute(deadConsumer, "LastClaimTime"));

        // a dead letter delivered again, by id, through JMX: this time it goes through
        poisonCured.set(true);
        MockEndpoint cured = getMockEndpoint("mock:cured");
        cured.expectedBodiesReceived("poison 1");
        assertEquals(1, jmx.invoke(deadEndpoint, "requeueDeadLetter", new Object[] { firstPoison },
                new String[] { "long" }));
        cured.setResultWaitTime(10_000);
        cured.assertIsSatisfied();
        // the rest, all of the channel's, through JMX
        cured.reset();
        cured.expectedBodiesReceived("poison 2");
        assertEquals(1, jmx.invoke(deadEndpoint, "requeueDeadLetters", new Object[0], new String[0]));
        cured.assertIsSatisfied();
        // and through a producer's operation header, as a route or a REST call would
        poisonCured.set(false);
        template.sendBody(DEAD, "poison 2b");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dead") == 1);
        poisonCured.set(true);
        cured.reset();
        cured.expectedBodiesReceived("poison 2b");
        assertEquals(1, template.requestBodyAndHeader(DEAD, null, PgNotifyConstants.OPERATION,
                PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS, Integer.class));
        cured.assertIsSatisfied();
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE + "_dead"));

        // purge: through JMX and through the header
        poisonCured.set(false);
        template.sendBody(DEAD, "poison 3");
        template.sendBody(DEAD, "poison 4");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dead") == 2);
        long third = (Long) server().queryValue("SELECT min(id) FROM " + TABLE + "_dead");
        assertEquals(1, jmx.invoke(deadEndpoint, "purgeDeadLetter", new Object[] { third }, new String[] { "long" }));
        assertEquals(1, template.requestBodyAndHeader(DEAD, null, PgNotifyConstants.OPERATION,
                PgNotifyConstants.OPERATION_PURGE_DEAD_LETTERS, Integer.class));
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE + "_dead"));
        template.sendBody(DEAD, "poison 5");
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dead") == 1);
        assertEquals(1, jmx.invoke(deadEndpoint, "purgeDeadLetters", new Object[0], new String[0]));
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE + "_dead"));
        @SuppressWarnings("unchecked")
        List<PgNotifyStatistics> statistics = template.requestBodyAndHeader(WAITING, null,
                PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_STATISTICS, List.class);
        assertEquals(3, statistics.get(0).waiting());
    }

    @Test
    void aPausedConsumerClaimsNothingUntilResumed() throws Exception {
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName consumer = consumerMBean("ops-pause");
        jmx.invoke(consumer, "pause", new Object[0], new String[0]);
        assertEquals(true, jmx.getAttribute(consumer, "Paused"));
        MockEndpoint paused = getMockEndpoint("mock:paused");
        paused.expectedBodiesReceived("after the pause");
        template.sendBody(PAUSABLE, "after the pause");
        // a bounded observation, not a synchronisation: for two seconds the message stays where it is
        await(Duration.ofSeconds(5)).during(Duration.ofSeconds(2)).until(() -> paused.getReceivedCounter() == 0);
        assertEquals(1L, count("SELECT count(*) FROM " + TABLE + " WHERE channel = 'ops-pause' AND attempts = 0"));

        ClaimingConsumer viaRoute = (ClaimingConsumer) context.getRoute("ops-pause").getConsumer();
        assertTrue(viaRoute.isPaused());
        jmx.invoke(consumer, "resume", new Object[0], new String[0]);
        paused.setResultWaitTime(10_000);
        paused.assertIsSatisfied();
        assertEquals(false, jmx.getAttribute(consumer, "Paused"));
    }

    /** A consumer's MBean is named after its class and identity; its RouteId attribute says whose it is. */
    private ObjectName consumerMBean(String routeId) throws Exception {
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        for (ObjectName name : jmx.queryNames(new ObjectName("org.apache.camel:context=" + context.getManagementName()
                                                             + ",type=consumers,*"), null)) {
            if (routeId.equals(jmx.getAttribute(name, "RouteId"))) {
                return name;
            }
        }
        throw new AssertionError("no consumer MBean of route " + routeId);
    }

    private ObjectName mbean(String type, String name) throws Exception {
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        Set<ObjectName> names = jmx.queryNames(new ObjectName("org.apache.camel:context=" + context.getManagementName()
                                                              + ",type=" + type + ",name=\"" + name + "\""),
                null);
        if (names.isEmpty()) {
            names = jmx.queryNames(new ObjectName("org.apache.camel:context=" + context.getManagementName()
                                                  + ",type=" + type + ",*"), null);
            throw new AssertionError("no " + type + " MBean named " + name + " among " + names);
        }
        return names.iterator().next();
    }

    private static Map<String, JsonObject> channels(DevConsole console) {
        JsonObject json = (JsonObject) console.call(DevConsole.MediaType.JSON);
        Map<String, JsonObject> byChannel = new java.util.HashMap<>();
        for (Object channel : json.getCollection("channels")) {
            JsonObject figures = (JsonObject) channel;
            byChannel.put(figures.getString("channel"), figures);
        }
        return byChannel;
    }

    private static void assertFigures(JsonObject channel, long waiting, long inFlight, long retrying, long delayed,
                                      long dead) {
        assertNotNull(channel);
        assertEquals(List.of(waiting, inFlight, retrying, delayed, dead), List.of(channel.getLong("waiting"),
                channel.getLong("inFlight"), channel.getLong("retrying"), channel.getLong("delayed"),
                channel.getLong("deadLetters")),
                channel.toString());
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
