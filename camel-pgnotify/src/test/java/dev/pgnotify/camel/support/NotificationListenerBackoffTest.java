package dev.pgnotify.camel.support;

import dev.pgnotify.camel.PgNotifyConfiguration;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NotificationListenerBackoffTest {

    @Test
    void doublesFromTheFirstDelayUpToTheMaximum() {
        PgNotifyConfiguration configuration = new PgNotifyConfiguration();
        configuration.setReconnectDelay(100);
        configuration.setMaxReconnectDelay(1000);
        NotificationListener listener = new NotificationListener("c", () -> null, configuration, null);

        assertEquals(100, listener.reconnectDelay(1));
        assertEquals(200, listener.reconnectDelay(2));
        assertEquals(400, listener.reconnectDelay(3));
        assertEquals(800, listener.reconnectDelay(4));
        assertEquals(1000, listener.reconnectDelay(5));
        assertEquals(1000, listener.reconnectDelay(1_000_000));
    }
}
