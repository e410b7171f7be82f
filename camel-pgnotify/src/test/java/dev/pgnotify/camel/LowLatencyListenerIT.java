package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Properties;

import dev.pgnotify.camel.connection.LowLatencySocketFactory;
import dev.pgnotify.camel.listen.ListenerConnections;
import org.junit.jupiter.api.Test;

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
        try (Connection listener = ListenerConnections.openListenerConnection(ListenerConnections.keyFor(endpoint.getConfiguration()))) {
            assertNotificationsComeOneByOne(listener, "latency_component_it");
        }
    }

    private static void assertNotificationsComeOneByOne(Connection listener, String channel) throws Exception {
        int median = NotificationBatches.median(listener, channel, STREAM_LENGTH, () -> server().connect());
        assertTrue(median <= LARGEST_ACCEPTABLE_MEDIAN_BATCH,
                "median batch " + median + ": notifications are held back");
    }
}
