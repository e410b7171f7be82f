package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * How a LISTEN connection hands over a steady stream of notifications: the median number per
 * {@code getNotifications} call. Held-back notifications show as large batches; no timing is involved.
 */
final class NotificationBatches {

    private NotificationBatches() {
    }

    /**
     * LISTENs on the channel, sends {@code count} single-notification transactions from a connection of the sender's,
     * and returns the median batch the listener received them in (all of them, or the test fails).
     */
    static int median(Connection listener, String channel, int count, Callable<Connection> sender) throws Exception {
        try (Statement statement = listener.createStatement()) {
            statement.execute("LISTEN " + channel);
        }
        CompletableFuture<Void> stream = CompletableFuture.runAsync(() -> {
            try (Connection connection = sender.call();
                 PreparedStatement notify = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
                notify.setString(1, channel);
                for (int i = 0; i < count; i++) {
                    notify.setString(2, Integer.toString(i));
                    notify.execute();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        List<Integer> batchSizes = new ArrayList<>();
        int received = 0;
        while (received < count) {
            PGNotification[] batch = listener.unwrap(PGConnection.class).getNotifications(10_000);
            if (batch == null || batch.length == 0) {
                break;
            }
            batchSizes.add(batch.length);
            received += batch.length;
        }
        stream.get(60, TimeUnit.SECONDS);
        assertEquals(count, received);
        Collections.sort(batchSizes);
        return batchSizes.get(batchSizes.size() / 2);
    }
}
