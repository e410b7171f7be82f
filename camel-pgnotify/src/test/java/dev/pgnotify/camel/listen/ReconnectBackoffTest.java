package dev.pgnotify.camel.listen;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ReconnectBackoffTest {

    @Test
    void doublesFromTheFirstDelayUpToTheMaximum() {
        assertEquals(100, SharedListener.reconnectDelay(100, 1000, 1));
        assertEquals(200, SharedListener.reconnectDelay(100, 1000, 2));
        assertEquals(400, SharedListener.reconnectDelay(100, 1000, 3));
        assertEquals(800, SharedListener.reconnectDelay(100, 1000, 4));
        assertEquals(1000, SharedListener.reconnectDelay(100, 1000, 5));
        assertEquals(1000, SharedListener.reconnectDelay(100, 1000, 1_000_000));
    }
}
