package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.support.EndpointConnections;
import dev.pgnotify.camel.support.LowLatencySocketFactory;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guards the low-latency listener, which leans on a pgjdbc internal (see {@link LowLatencySocketFactory}). Under a
 * steady stream of notifications a plain pgjdbc connection returns them from {@code getNotifications} in large, late
 * batches (measured here: medians of 108 to 1,737 notifications per call for a 20,000 stream); the listener's
 * connection must return each as it arrives (measured: median 1). No timing is asserted, only batch sizes.
 */
class LowLatencyListenerIT extends PgNotifyITSupport {

    private static final int STREAM_LENGTH = 20_000;
    private static final int LARGEST_ACCEPTABLE_MEDIAN_BATCH = 10;

    @Test
    void pgjdbcWithTheSocketFactoryReturnsNotificationsAsTheyArrive() throws Exception {
        Properties properties = new Properties();
        if (server().username() != null) {
            properties.setProperty("user", server().username());
        }
        if (server().password() != null) {
            properties.setProperty("password", server().password());
        }
        properties.setProperty("socketFactory", LowLatencySocketFactory.class.getName());
        try (Connection listener = DriverManager.getConnection(server().jdbcUrl(), properties)) {
            assertNotificationsComeOneByOne(listener, "latency_raw_it");
        }
    }

    @Test
    void consumersListenerConnectionReturnsNotificationsAsTheyArrive() throws Exception {
        PgNotifyEndpoint endpoint = context.getEndpoint("pgnotify:latency_component_it?mode=notify",
                PgNotifyEndpoint.class);
        try (Connection listener = EndpointConnections.openListenerConnection(endpoint.getConnections().listenerKey())) {
            assertNotificationsComeOneByOne(listener, "latency_component_it");
        }
    }

    private static void assertNotificationsComeOneByOne(Connection listener, String channel) throws Exception {
        try (Statement statement = listener.createStatement()) {
            statement.execute("LISTEN " + channel);
        }
        CompletableFuture<Void> stream = stream(channel);
        List<Integer> batchSizes = new ArrayList<>();
        int received = 0;
        while (received < STREAM_LENGTH) {
            PGNotification[] batch = listener.unwrap(PGConnection.class).getNotifications(10_000);
            if (batch == null || batch.length == 0) {
                break;
            }
            batchSizes.add(batch.length);
            received += batch.length;
        }
        stream.get(60, TimeUnit.SECONDS);

        assertEquals(STREAM_LENGTH, received);
        Collections.sort(batchSizes);
        int median = batchSizes.get(batchSizes.size() / 2);
        assertTrue(median <= LARGEST_ACCEPTABLE_MEDIAN_BATCH,
                "median batch " + median + " over " + batchSizes.size() + " calls: notifications are held back");
    }

    /** A steady stream of single-notification transactions from another connection. */
    private static CompletableFuture<Void> stream(String channel) {
        return CompletableFuture.runAsync(() -> {
            try (Connection sender = server().connect();
                 PreparedStatement notify = sender.prepareStatement("SELECT pg_notify(?, ?)")) {
                notify.setString(1, channel);
                for (int i = 0; i < STREAM_LENGTH; i++) {
                    notify.setString(2, Integer.toString(i));
                    notify.execute();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
