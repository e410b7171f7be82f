package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.stream.IntStream;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NOTIFY only wakes consumers and carries no body: a handful per batch, not one per message.
 */
class QueueWakeUpIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueWakeUpIT.class);
    private static final String TABLE = "wake_it_queue";

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                // creates the table; consumes nothing the tests send
                from("pgnotify:unused?table=" + TABLE).to("mock:unused");
            }
        };
    }

    @Test
    void thousandMessagesInBatchesOfHundredWakeConsumersAtMostTenTimes() throws Exception {
        List<String> bodies = IntStream.range(0, 100).mapToObj(i -> "m" + i).toList();
        List<PGNotification> wakeUps = countWakeUps(() -> {
            for (int batch = 0; batch < 10; batch++) {
                template.sendBody("pgnotify:batched?table=" + TABLE + "&batch=true", bodies);
            }
        });
        LOG.info("1,000 messages sent by the producer in 10 batches: {} wake-up(s)", wakeUps.size());
        assertTrue(wakeUps.size() <= 10, wakeUps.size() + " wake-ups");
        assertTrue(wakeUps.stream().allMatch(n -> n.getParameter().startsWith("batched ")),
                "the payload names the channel, then the sender");
    }

    @Test
    void thousandRowsInsertedWithSqlInTenTransactionsWakeConsumersAtMostTenTimes() throws Exception {
        List<PGNotification> wakeUps = countWakeUps(() -> {
            for (int batch = 0; batch < 10; batch++) {
                server().execute("INSERT INTO " + TABLE + " (channel, body_text)"
                                 + " SELECT 'sql_batched', 'm' || i FROM generate_series(1, 100) AS i");
            }
        });
        LOG.info("1,000 rows inserted with SQL in 10 statements: {} wake-up(s)", wakeUps.size());
        assertEquals(10, wakeUps.size(), "one per statement");
    }

    @Test
    void singleMessagesShareWakeUpsUnderLoad() throws Exception {
        List<PGNotification> wakeUps = countWakeUps(() -> {
            for (int i = 0; i < 1000; i++) {
                template.sendBody("pgnotify:single?table=" + TABLE, "m" + i);
            }
        });
        LOG.info("1,000 messages sent one by one: {} wake-up(s)", wakeUps.size());
        assertTrue(wakeUps.size() >= 1 && wakeUps.size() <= 1000, wakeUps.size() + " wake-ups");
    }

    /**
     * Every wake-up on the table's channel while the action runs. A last message through the producer marks the end:
     * its wake-up is sent after every earlier one, in commit order.
     */
    private List<PGNotification> countWakeUps(ThrowingRunnable action) throws Exception {
        String wakeChannel = "public." + TABLE;
        try (Connection listener = server().connect(); Statement statement = listener.createStatement()) {
            statement.execute("LISTEN \"" + wakeChannel + "\"");
            action.run();
            template.sendBody("pgnotify:end-of-test?table=" + TABLE, "marker");
            List<PGNotification> received = new java.util.ArrayList<>();
            await(java.time.Duration.ofSeconds(10)).until(() -> {
                PGNotification[] batch = listener.unwrap(PGConnection.class).getNotifications(100);
                if (batch != null) {
                    received.addAll(List.of(batch));
                }
                return received.stream().anyMatch(n -> n.getParameter().startsWith("end-of-test"));
            });
            return received.stream().filter(n -> !n.getParameter().startsWith("end-of-test")).toList();
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
