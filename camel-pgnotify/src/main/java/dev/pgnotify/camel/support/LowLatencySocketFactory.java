package dev.pgnotify.camel.support;

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
 * notification as it comes. Every other read blocks as usual. Used on plain sockets only: an SSL record cut short
 * by the immediate timeout could not be resumed.
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
                return super.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                failFastWhenPeekingEmpty();
                return super.read(b, off, len);
            }

            private void failFastWhenPeekingEmpty() throws IOException {
                if (peeking && in.available() == 0) {
                    throw new SocketTimeoutException("no message pending");
                }
            }
        }
    }
}
