package dev.pgnotify.examples;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The outbox relay: an order and its event written in one plain-SQL transaction are relayed together, a rolled-back
 * order never is.
 */
class OutboxRelayIT {

    @TempDir
    Path dir;

    @Test
    void committedOrdersAreRelayedRolledBackOnesNever() throws Exception {
        try (DemoRun demo = DemoRun.start(dir, "outbox", Map.of())) {
            OutboxOrderService orders = demo.context().getRegistry()
                    .lookupByNameAndType(OutboxOrderService.class.getSimpleName(), OutboxOrderService.class);

            long alice = orders.placeOrder("alice", new BigDecimal("10.00"));
            var declined = assertThrows(IllegalStateException.class,
                    () -> orders.placeOrderThenFailBeforeCommit("mallory", new BigDecimal("1.00")));
            long bob = orders.placeOrder("bob", new BigDecimal("20.00"));

            Path aliceEvent = dir.resolve("order-events").resolve("order-" + alice + ".json");
            Path bobEvent = dir.resolve("order-events").resolve("order-" + bob + ".json");
            Awaitility.await().atMost(Duration.ofSeconds(30))
                    .until(() -> Files.exists(aliceEvent) && Files.exists(bobEvent)
                                 && demo.count("SELECT count(*) FROM message_queue WHERE channel = 'order-events'") == 0);

            assertTrue(Files.readString(aliceEvent).contains("\"customer\": \"alice\""), Files.readString(aliceEvent));
            assertTrue(Files.readString(bobEvent).contains("\"customer\": \"bob\""), Files.readString(bobEvent));
            String declinedOrder = declined.getMessage().replaceAll("\\D+", "");
            assertFalse(Files.exists(dir.resolve("order-events").resolve("order-" + declinedOrder + ".json")));
            try (var files = Files.list(dir.resolve("order-events"))) {
                assertEquals(2, files.count(), "only the committed orders were relayed");
            }
            assertEquals(0, demo.count("SELECT count(*) FROM demo_orders WHERE customer = 'mallory'"));
        }
    }
}
