package dev.pgnotify.camel.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loopback TCP proxy between the component and PostgreSQL that can freeze its open connections: it stops
 * forwarding on them in both directions and closes nothing, as a dead NAT entry, a firewall that drops a flow, a
 * failed-over cloud database or a frozen VM leave a connection. Nothing is reset, so a blocked read waits forever
 * and writes block once the socket buffers are full. Connections opened after {@link #freezeOpenConnections()} are
 * forwarded normally (the route to the server works again), unless {@link #blackholeNewConnections(boolean)} makes
 * new ones hang too (a server that is unreachable but whose address still accepts TCP).
 * <p>
 * Test support: its threads are the test's, daemon threads named {@code freezing-proxy-*}.
 */
public final class FreezingProxy implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FreezingProxy.class);
    private static final AtomicInteger PROXIES = new AtomicInteger();

    private final String upstreamHost;
    private final int upstreamPort;
    private final ServerSocket listener;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private final String name = "freezing-proxy-" + PROXIES.incrementAndGet();
    private volatile boolean blackholeNew;
    private volatile boolean closed;

    private FreezingProxy(String upstreamHost, int upstreamPort) throws IOException {
        this.upstreamHost = upstreamHost;
        this.upstreamPort = upstreamPort;
        this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, name + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A proxy in front of the server of this JDBC URL (jdbc:postgresql://host:port/db...). */
    public static FreezingProxy inFrontOf(String jdbcUrl) {
        URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
        try {
            return new FreezingProxy(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 5432);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The same JDBC URL, through this proxy. */
    public String jdbcUrl(String jdbcUrl) {
        URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
        String authority = uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "");
        return jdbcUrl.replaceFirst(java.util.regex.Pattern.quote(authority),
                InetAddress.getLoopbackAddress().getHostAddress() + ":" + listener.getLocalPort());
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Stops forwarding on every connection open now, in both directions, without closing anything. */
    public void freezeOpenConnections() {
        int frozen = 0;
        for (Link link : links) {
            if (!link.frozen) {
                link.frozen = true;
                frozen++;
            }
        }
        LOG.info("{}: froze {} open connection(s)", name, frozen);
    }

    /** With true, connections opened from now on are accepted but never forwarded. */
    public void blackholeNewConnections(boolean blackhole) {
        this.blackholeNew = blackhole;
    }

    /** Closes every open connection, frozen or not. */
    public void closeAll() {
        links.forEach(Link::close);
    }

    /**
     * Closes the frozen connections only (both ends: the client and PostgreSQL see them close), as the end of a network
     * outage whose dead connections are finally reset; returns how many.
     */
    public int closeFrozenConnections() {
        int closed = 0;
        for (Link link : links) {
            if (link.frozen && !link.isClosed()) {
                link.close();
                closed++;
            }
        }
        return closed;
    }

    /** Connections currently open through the proxy. */
    public int openConnections() {
        return (int) links.stream().filter(l -> !l.isClosed()).count();
    }

    /** Connections open now that are frozen. */
    public int frozenConnections() {
        return (int) links.stream().filter(l -> l.frozen && !l.isClosed()).count();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Link link = new Link(client, blackholeNew);
                links.add(link);
                link.start();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("{}: accept failed: {}", name, e.toString());
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        links.forEach(Link::close);
    }

    @Override
    public String toString() {
        return name + " (port " + port() + " -> " + upstreamHost + ":" + upstreamPort + ")";
    }

    /** One client connection and its upstream connection, pumped in both directions. */
    private final class Link {

        private final Socket client;
        private final Object lock = new Object();
        private Socket upstream;
        private volatile boolean frozen;
        private volatile boolean linkClosed;

        Link(Socket client, boolean frozen) {
            this.client = client;
            this.frozen = frozen;
        }

        void start() {
            Thread connector = new Thread(() -> {
                try {
                    upstream = new Socket();
                    upstream.connect(new InetSocketAddress(upstreamHost, upstreamPort), 10_000);
                    pump(client.getInputStream(), upstream.getOutputStream(), "up");
                    pump(upstream.getInputStream(), client.getOutputStream(), "down");
                } catch (IOException e) {
                    close();
                }
            }, name + "-connect");
            connector.setDaemon(true);
            connector.start();
        }

        private void pump(InputStream in, OutputStream out, String direction) {
            Thread pump = new Thread(() -> {
                byte[] buffer = new byte[16 * 1024];
                try {
                    while (!linkClosed) {
                        awaitThawed();
                        int read = in.read(buffer);
                        if (read < 0) {
                            break;
                        }
                        // a chunk read just before the freeze is held back too
                        awaitThawed();
                        out.write(buffer, 0, read);
                        out.flush();
                    }
                } catch (IOException | InterruptedException e) {
                    // closed
                }
                close();
            }, name + "-" + direction);
            pump.setDaemon(true);
            pump.start();
        }

        private void awaitThawed() throws InterruptedException {
            // frozen links never thaw: they only end when the test closes the proxy or resets them
            while (frozen && !linkClosed) {
                synchronized (lock) {
                    lock.wait(100);
                }
            }
        }

        boolean isClosed() {
            return linkClosed;
        }

        void close() {
            linkClosed = true;
            closeQuietly(client);
            closeQuietly(upstream);
            synchronized (lock) {
                lock.notifyAll();
            }
            links.remove(this);
        }

        private void closeQuietly(Socket socket) {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // closing
                }
            }
        }
    }
}
