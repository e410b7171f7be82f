package dev.pgnotify.camel.connection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;

import org.junit.jupiter.api.Test;

/**
 * The socket behaviour the low-latency listener relies on, checked on a real loopback socket.
 */
class LowLatencySocketFactoryTest {

    @Test
    void peekWithNothingBufferedReturnsAtOnceAndNormalReadsStillBlock() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new LowLatencySocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                     server.getLocalPort());
             Socket peer = server.accept()) {
            InputStream in = client.getInputStream();
            OutputStream out = peer.getOutputStream();

            // pgjdbc's peek: nothing is buffered, so no message is pending
            client.setSoTimeout(LowLatencySocketFactory.PGJDBC_PEEK_TIMEOUT_MILLIS);
            assertThrows(SocketTimeoutException.class, in::read);

            // something is buffered: the peek reads it
            out.write(42);
            out.flush();
            awaitBuffered(in);
            assertEquals(42, in.read());

            // a normal blocking read (timeout 0) waits for data that arrives later
            client.setSoTimeout(0);
            Thread writer = new Thread(() -> {
                try {
                    out.write(7);
                    out.flush();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            writer.start();
            assertEquals(7, in.read());
            writer.join();
        }
    }

    @Test
    void otherTimeoutsBehaveAsUsual() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new LowLatencySocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                     server.getLocalPort());
             Socket peer = server.accept()) {
            client.setSoTimeout(50);
            long start = System.nanoTime();
            assertThrows(SocketTimeoutException.class, () -> client.getInputStream().read());
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            // the regular timeout is honoured: the read waited for it instead of failing at once
            assertTrue(waitedMillis >= 40, "waited " + waitedMillis + " ms");
        }
    }

    private static void awaitBuffered(InputStream in) throws Exception {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> in.available() > 0);
    }
}
