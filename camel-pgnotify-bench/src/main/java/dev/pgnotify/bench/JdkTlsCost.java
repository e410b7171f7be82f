package dev.pgnotify.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.locks.LockSupport;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import dev.pgnotify.camel.test.TestCertificates;

/**
 * The baseline of the CPU comparison over TLS: what the JDK itself spends on records of the sizes pgnotify exchanges,
 * at the same pace, without pgjdbc or pgnotify: a plain socket and a TLS socket (TLS 1.3, the JDK's own choice of
 * cipher on both ends) over loopback. Two shapes: a stream of 140-byte messages one a millisecond, read as the LISTEN
 * connection reads its notifications; and a 200-byte request answered by 60 bytes one a millisecond, as a producer's
 * statement and its answer. The figure is the CPU time of the client's thread, which is where pgnotify's threads
 * spend it too.
 */
final class JdkTlsCost {

    static final int NOTIFICATION_BYTES = 140;
    static final int REQUEST_BYTES = 200;
    static final int ANSWER_BYTES = 60;

    /** Client thread CPU in microseconds: per message received, and per request answered. */
    record Cost(double receive, double roundTrip, String protocol) {
    }

    private record RoundTrip(double micros, String protocol) {
    }

    /** What the server end does with its one accepted connection. */
    @FunctionalInterface
    private interface ServerSide {
        void serve(InputStream in, OutputStream out) throws IOException;
    }

    private JdkTlsCost() {
    }

    /** Starts a thread that accepts one connection and serves it. */
    private static Thread serve(ServerSocket listening, String name, ServerSide side) {
        Thread thread = new Thread(() -> {
            try (Socket socket = listening.accept()) {
                side.serve(socket.getInputStream(), socket.getOutputStream());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, name);
        thread.start();
        return thread;
    }

    /** The costs over plain TCP or TLS, each shape after {@code warmUp} unmeasured messages. */
    static Cost measure(TestCertificates certificates, boolean tls, int messages, int warmUp) throws Exception {
        SSLContext server = tls ? certificates.serverContext() : null;
        SSLContext client = tls ? certificates.clientContext() : null;
        double receive = stream(server, client, messages, warmUp);
        RoundTrip roundTrip = requestAnswer(server, client, messages, warmUp);
        return new Cost(receive, roundTrip.micros(), roundTrip.protocol());
    }

    private static double stream(SSLContext serverContext, SSLContext clientContext, int messages, int warmUp)
            throws Exception {
        try (ServerSocket listening = serverSocket(serverContext)) {
            int total = warmUp + messages;
            Thread sender = serve(listening, "jdk-tls-baseline-sender", (in, out) -> {
                byte[] message = new byte[NOTIFICATION_BYTES];
                long start = System.nanoTime();
                for (int i = 0; i < total; i++) {
                    pace(start, i);
                    out.write(message);
                    out.flush();
                }
            });
            try (Socket socket = clientSocket(clientContext, listening.getLocalPort())) {
                socket.setSoTimeout(5_000);
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[8192];
                readFully(in, buffer, (long) warmUp * NOTIFICATION_BYTES);
                long before = threadCpu();
                readFully(in, buffer, (long) messages * NOTIFICATION_BYTES);
                double perMessage = (threadCpu() - before) / 1e3 / messages;
                sender.join(10_000);
                return perMessage;
            }
        }
    }

    private static RoundTrip requestAnswer(SSLContext serverContext, SSLContext clientContext, int messages,
                                           int warmUp) throws Exception {
        try (ServerSocket listening = serverSocket(serverContext)) {
            int total = warmUp + messages;
            Thread answering = serve(listening, "jdk-tls-baseline-answering", (in, out) -> {
                byte[] request = new byte[REQUEST_BYTES];
                byte[] answer = new byte[ANSWER_BYTES];
                for (int i = 0; i < total; i++) {
                    readFully(in, request, REQUEST_BYTES);
                    out.write(answer);
                    out.flush();
                }
            });
            try (Socket socket = clientSocket(clientContext, listening.getLocalPort())) {
                socket.setSoTimeout(5_000);
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                byte[] request = new byte[REQUEST_BYTES];
                byte[] buffer = new byte[8192];
                long before = 0;
                long start = System.nanoTime();
                for (int i = 0; i < total; i++) {
                    if (i == warmUp) {
                        before = threadCpu();
                    }
                    pace(start, i);
                    out.write(request);
                    out.flush();
                    readFully(in, buffer, ANSWER_BYTES);
                }
                double perRoundTrip = (threadCpu() - before) / 1e3 / messages;
                answering.join(10_000);
                return new RoundTrip(perRoundTrip, socket instanceof SSLSocket ssl
                        ? ssl.getSession().getProtocol() + " " + ssl.getSession().getCipherSuite() : "plain");
            }
        }
    }

    private static ServerSocket serverSocket(SSLContext context) throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        return context == null ? new ServerSocket(0, 1, loopback)
                : context.getServerSocketFactory().createServerSocket(0, 1, loopback);
    }

    private static Socket clientSocket(SSLContext context, int port) throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        if (context == null) {
            return new Socket(loopback, port);
        }
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("localhost", port);
        socket.startHandshake();
        return socket;
    }

    /** Reads exactly {@code count} bytes (into the buffer, over and over); the reads are as large as arrives. */
    private static void readFully(InputStream in, byte[] buffer, long count) throws IOException {
        long left = count;
        while (left > 0) {
            int read = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (read < 0) {
                throw new IOException("closed after " + (count - left) + " of " + count + " bytes");
            }
            left -= read;
        }
    }

    /** One a millisecond, as the benchmark's open-model senders. */
    private static void pace(long start, int i) {
        long due = start + i * 1_000_000L;
        long wait;
        while ((wait = due - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
        }
    }

    private static long threadCpu() {
        return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }
}
