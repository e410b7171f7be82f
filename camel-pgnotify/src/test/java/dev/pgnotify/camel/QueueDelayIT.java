package dev.pgnotify.camel;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Delayed delivery (headers CamelPgNotifyDelay and CamelPgNotifyDeliverAt, column available_at): a message is
 * delivered when it falls due, not before and not at the consumer's next poll (the consumers here poll once a minute,
 * in an application of their own, so that only PostgreSQL's wake-ups can explain prompt delivery), whether a pgnotify
 * producer or a plain INSERT sent it; a restart loses no delayed message.
 */
class QueueDelayIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueDelayIT.class);
    private static final String TABLE = "delay_it_queue";
    /** How late a message may be delivered after it fell due. */
    private static final long ON_TIME_MILLIS = 50;

    private final Map<String, Instant> received = new ConcurrentHashMap<>();
    private final List<CamelContext> consumers = new ArrayList<>();

    @BeforeEach
    void cleanTable() throws Exception {
        dropQueue(TABLE);
        // the producer creates the table
        template.requestBodyAndHeader(uri(), null, PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_STATISTICS);
    }

    @AfterEach
    void stopConsumers() throws Exception {
        for (CamelContext consumer : consumers) {
            consumer.stop();
        }
    }

    @Test
    void delayedMessagesAreDeliveredWhenTheyFallDueNotBeforeAndNotAtTheNextPoll() throws Exception {
        startConsumer("pollInterval=60s");
        Random random = new Random(42);
        Map<String, Instant> due = new ConcurrentHashMap<>();
        for (int i = 0; i < 40; i++) {
            long delay = 100 + random.nextInt(1400);
            String body = "reminder " + i;
            Object header = switch (i % 4) {
                case 0 -> delay;
                case 1 -> Duration.ofMillis(delay);
                case 2 -> delay + "ms";
                default -> null;
            };
            Instant sentAt = Instant.now();
            if (header != null) {
                template.sendBodyAndHeader(uri(), body, PgNotifyConstants.DELAY, header);
            } else {
                template.sendBodyAndHeader(uri(), body, PgNotifyConstants.DELIVER_AT, sentAt.plusMillis(delay));
            }
            due.put(body, sentAt.plusMillis(delay));
        }
        await(Duration.ofSeconds(10)).until(() -> received.size() == 40);
        List<Long> lateness = new ArrayList<>();
        for (Map.Entry<String, Instant> message : due.entrySet()) {
            long late = Duration.between(message.getValue(), received.get(message.getKey())).toMillis();
            assertTrue(late >= 0, message.getKey() + " came " + -late + " ms before it was due");
            lateness.add(late);
        }
        lateness.sort(null);
        LOG.info("Delayed messages delivered after they fell due by (ms): median {}, max {}", lateness.get(20),
                lateness.get(39));
        assertTrue(lateness.get(39) <= ON_TIME_MILLIS, "every delayed message within " + ON_TIME_MILLIS
                                                       + " ms of its time: " + lateness);
    }

    @Test
    void aPlainInsertSettingAvailableAtIsDeliveredOnTimeToo() throws Exception {
        startConsumer("pollInterval=60s");
        Instant dueAt = Instant.now().plusMillis(400);
        server().execute("INSERT INTO " + TABLE + " (channel, body_text, available_at)"
                         + " VALUES ('reminders', 'from SQL', '" + dueAt + "')");
        await(Duration.ofSeconds(5)).until(() -> received.containsKey("from SQL"));
        long late = Duration.between(dueAt, received.get("from SQL")).toMillis();
        LOG.info("A message inserted by SQL to fall due 400 ms later came {} ms after its time", late);
        assertTrue(late >= 0 && late <= ON_TIME_MILLIS, "came " + late + " ms after its time");
    }

    @Test
    void aRestartLosesNoDelayedMessage() throws Exception {
        CamelContext first = startConsumer("pollInterval=1s");
        Instant dueAt = Instant.now().plusMillis(2500);
        for (int i = 0; i < 5; i++) {
            template.sendBodyAndHeader(uri(), "after restart " + i, PgNotifyConstants.DELIVER_AT, dueAt);
        }
        // (measured at most once a second)
        await(Duration.ofSeconds(3)).until(() -> ((PgNotifyStatistics) template.requestBodyAndHeader(uri(), null,
                PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_STATISTICS, List.class).get(0)).delayed() == 5);
        first.stop();
        consumers.remove(first);
        Instant soonDue = Instant.now().plusMillis(300);
        for (int i = 0; i < 3; i++) {
            template.sendBodyAndHeader(uri(), "while away " + i, PgNotifyConstants.DELIVER_AT, soonDue);
        }

        // nobody consumes while the first three fall due
        await(Duration.ofSeconds(5)).until(() -> count("SELECT count(*) FROM " + TABLE
                                                       + " WHERE available_at <= now()") == 3);
        startConsumer("pollInterval=1s");
        await(Duration.ofSeconds(5)).until(() -> received.size() == 3);
        await(Duration.ofSeconds(10)).until(() -> received.size() == 8);
        List<Long> lateness = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            long late = Duration.between(dueAt, received.get("after restart " + i)).toMillis();
            lateness.add(late);
            // the wake-up went to the consumer that stopped; the new one finds them by its sweep (once a poll interval)
            assertTrue(late >= 0 && late <= 1000 + ON_TIME_MILLIS, "after restart " + i + ": " + late + " ms late");
        }
        LOG.info("Delayed messages that fell due after a consumer restart came late by (ms): {}", lateness);
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE));
    }

    @Test
    void aBadDelayOrDueTimeIsRefusedWithAClearErrorAndNothingIsSent() throws Exception {
        Exception delay = assertThrows(Exception.class,
                () -> template.sendBodyAndHeader(uri(), "x", PgNotifyConstants.DELAY, "soon"));
        assertTrue(delay.getCause().getMessage().contains("CamelPgNotifyDelay must be a delay"),
                delay.getCause().getMessage());
        Exception deliverAt = assertThrows(Exception.class,
                () -> template.sendBodyAndHeader(uri(), "x", PgNotifyConstants.DELIVER_AT, "next tuesday"));
        assertTrue(deliverAt.getCause().getMessage().contains("CamelPgNotifyDeliverAt must be an instant"),
                deliverAt.getCause().getMessage());
        Exception topic = assertThrows(Exception.class, () -> template.sendBodyAndHeader(
                "pgnotify:reminders?mode=topic&table=delay_it_topic", "x", PgNotifyConstants.DELAY, 1000));
        assertTrue(topic.getCause().getMessage().contains("supported in mode=queue only"),
                topic.getCause().getMessage());
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE));
    }

    private static String uri() {
        return "pgnotify:reminders?table=" + TABLE;
    }

    /** A consumer in an application of its own: this test's producers cannot wake it directly. */
    private CamelContext startConsumer(String options) throws Exception {
        CamelContext consumer = application(server().jdbcUrl(), server().username(), server().password(),
                new RouteBuilder() {
                    @Override
                    public void configure() {
                        from(uri() + "&" + options).process(exchange -> received.put(
                                exchange.getMessage().getBody(String.class), Instant.now()));
                    }
                });
        consumers.add(consumer);
        return consumer;
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
