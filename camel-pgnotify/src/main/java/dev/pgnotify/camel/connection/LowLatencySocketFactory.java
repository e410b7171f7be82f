package dev.pgnotify.camel.connection;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;

import javax.net.SocketFactory;

/**
 * The socket of the LISTEN connection, given to pgjdbc through its {@code socketFactory} property.
 * <p>
 * Why: once {@code getNotifications(timeout)} has read a notification, pgjdbc 42.7 keeps reading as long as
 * {@code PGStream.hasMessagePending()} finds more, and that check peeks the socket with {@code setSoTimeout(1)}. Under
 * a steady stream the next notification nearly always arrives within that millisecond, so the call returns only when
 * the stream pauses: notifications reach the route in late batches. On this socket a read made with the 1 ms peek
 * timeout returns at once when nothing is buffered, so the call returns what has arrived and the route sees each
 * notification as it comes. Every other read blocks as usual.
 * <p>
 * Over TLS the socket sits under the JDK's TLS layer (pgjdbc layers an {@code SSLSocket} on it, and the layer passes
 * {@code setSoTimeout} down). A read that failed in the middle of a TLS record would lose the part of it already
 * read, so the immediate answer is given only between records ({@link RecordBoundaries} follows the records' headers):
 * inside one, the read waits for the rest of it as usual, and the record arrives whole within microseconds, since the
 * server sends it in one write.
 */
public final class LowLatencySocketFactory extends SocketFactory {

    /** The timeout pgjdbc sets for its "is a message pending?" peek and for nothing else. */
    public static final int PGJDBC_PEEK_TIMEOUT_MILLIS = 1;

    @Override
    public Socket createSocket() {
        return new PeekAwareSocket();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        Socket socket = createSocket();
        socket.bind(new InetSocketAddress(localHost, localPort));
        socket.connect(new InetSocketAddress(host, port));
        return socket;
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        Socket socket = createSocket();
        socket.bind(new InetSocketAddress(localAddress, localPort));
        socket.connect(new InetSocketAddress(address, port));
        return socket;
    }

    private Socket connected(InetSocketAddress address) throws IOException {
        Socket socket = createSocket();
        socket.connect(address);
        return socket;
    }

    static final class PeekAwareSocket extends Socket {

        private volatile boolean peeking;
        /** Followed across the input streams handed out (pgjdbc asks once before TLS, the TLS layer once after). */
        private final RecordBoundaries boundaries = new RecordBoundaries();

        @Override
        public synchronized void setSoTimeout(int timeout) throws SocketException {
            super.setSoTimeout(timeout);
            peeking = timeout == PGJDBC_PEEK_TIMEOUT_MILLIS;
        }

        @Override
        public InputStream getInputStream() throws IOException {
            return new PeekAwareInputStream(super.getInputStream());
        }

        private final class PeekAwareInputStream extends FilterInputStream {

            PeekAwareInputStream(InputStream in) {
                super(in);
            }

            @Override
            public int read() throws IOException {
                failFastWhenPeekingEmpty();
                int b = super.read();
                if (b >= 0) {
                    boundaries.read(b);
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                failFastWhenPeekingEmpty();
                int read = super.read(b, off, len);
                if (read > 0) {
                    boundaries.read(b, off, read);
                }
                return read;
            }

            @Override
            public long skip(long n) throws IOException {
                // through read, so that the record boundaries stay known
                byte[] skipped = new byte[(int) Math.min(n, 8192)];
                int read = read(skipped, 0, skipped.length);
                return Math.max(0, read);
            }

            private void failFastWhenPeekingEmpty() throws IOException {
                if (peeking && boundaries.atBoundary() && in.available() == 0) {
                    throw new SocketTimeoutException("no message pending");
                }
            }
        }
    }
}
