package dev.pgnotify.camel.support;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConfiguration;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LISTEN loop of a consumer: a dedicated connection that LISTENs on one channel, waits for notifications with a
 * finite timeout, checks the connection whenever a wait comes back empty, and after losing it reconnects with a
 * bounded exponential backoff and LISTENs again, until {@link #stop()}.
 */
public final class NotificationListener implements Runnable {

    /** What the consumer does with the connection's events; called on the listener's thread. */
    public interface Handler {

        /** Called each time LISTEN has taken effect (first connect and every reconnect). */
        void onListening() throws Exception;

        void onNotification(PGNotification notification) throws Exception;
    }

    /** Opens the dedicated connection. */
    public interface ConnectionOpener {
        Connection open() throws SQLException;
    }

    private static final Logger LOG = LoggerFactory.getLogger(NotificationListener.class);

    private final String channel;
    private final ConnectionOpener opener;
    private final PgNotifyConfiguration configuration;
    private final Handler handler;
    private final CountDownLatch stopped = new CountDownLatch(1);

    private volatile boolean running = true;
    private volatile Connection connection;
    private volatile boolean listening;
    private volatile Exception lastFailure;

    public NotificationListener(String channel, ConnectionOpener opener, PgNotifyConfiguration configuration, Handler handler) {
        this.channel = channel;
        this.opener = opener;
        this.configuration = configuration;
        this.handler = handler;
    }

    /**
     * Connects and LISTENs on the caller's thread, so that a wrong URL or password fails the consumer's start
     * instead of turning into endless reconnects.
     */
    public void connect() throws SQLException {
        connection = listenOn(opener.open());
    }

    public boolean isListening() {
        return listening;
    }

    /** Why the connection was last lost, or null. */
    public Exception getLastFailure() {
        return lastFailure;
    }

    @Override
    public void run() {
        int failedAttempts = 0;
        while (running) {
            Connection current = connection;
            try {
                if (current == null) {
                    current = listenOn(opener.open());
                    connection = current;
                    LOG.info("Listening on channel {} again after {} failed attempt(s)", channel, failedAttempts);
                }
                failedAttempts = 0;
                listening = true;
                handler.onListening();
                waitForNotifications(current);
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                lastFailure = e;
                failedAttempts++;
                long delay = reconnectDelay(failedAttempts);
                LOG.warn("Lost the LISTEN connection of channel {} ({}); reconnecting in {} ms (attempt {})",
                        channel, e.getMessage(), delay, failedAttempts);
                closeQuietly(current);
                connection = null;
                listening = false;
                awaitStop(delay);
            }
        }
        listening = false;
        closeQuietly(connection);
        connection = null;
    }

    /**
     * Stops the loop: a wait in progress is cut short by aborting the connection, a backoff by the latch.
     */
    public void stop() {
        running = false;
        stopped.countDown();
        Connection current = connection;
        if (current != null) {
            try {
                current.abort(Runnable::run);
            } catch (SQLException e) {
                LOG.debug("Aborting the LISTEN connection of channel {} failed", channel, e);
            }
        }
    }

    private Connection listenOn(Connection opened) throws SQLException {
        try (Statement statement = opened.createStatement()) {
            statement.execute(SupportSql.listen(channel));
            return opened;
        } catch (SQLException e) {
            closeQuietly(opened);
            throw e;
        }
    }

    private void waitForNotifications(Connection current) throws Exception {
        PGConnection pg = current.unwrap(PGConnection.class);
        int waitMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, configuration.getConnectionCheckInterval()));
        int checkSeconds = (int) Math.max(1, TimeUnit.MILLISECONDS.toSeconds(waitMillis));
        while (running) {
            PGNotification[] notifications = pg.getNotifications(waitMillis);
            if (notifications == null || notifications.length == 0) {
                if (running && !current.isValid(checkSeconds)) {
                    throw new SQLException("the connection no longer answers");
                }
                continue;
            }
            for (PGNotification notification : notifications) {
                handler.onNotification(notification);
            }
        }
    }

    public long reconnectDelay(int failedAttempts) {
        long initial = Math.max(1, configuration.getReconnectDelay());
        long max = Math.max(initial, configuration.getMaxReconnectDelay());
        int doublings = Math.min(failedAttempts - 1, 30);
        return Math.min(max, initial << doublings);
    }

    private void awaitStop(long millis) {
        try {
            stopped.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.trace("Closing a LISTEN connection failed", e);
            }
        }
    }
}
