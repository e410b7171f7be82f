package dev.pgnotify.camel.notify;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.admin.ConsumerHealthCheck;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.listen.SharedListener;
import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.support.DefaultConsumer;
import org.postgresql.PGNotification;
import org.postgresql.core.Notification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mode=notify: subscribes to its channel on the component's shared LISTEN connection and turns each notification
 * into an Exchange, in the order PostgreSQL delivers them, on a thread of its own (so that a slow route does not hold
 * up the other consumers of the connection until its buffer of {@value #BUFFERED_NOTIFICATIONS} notifications is
 * full). Every consumer of a channel receives every notification; what is sent while the connection is down is lost
 * (mode=queue keeps it).
 */
public class NotifyConsumer extends DefaultConsumer implements SharedListener.Handler, ConsumerHealthCheck.Monitored {

    /** Notifications received but not yet processed; when full, the shared listener waits for this route. */
    static final int BUFFERED_NOTIFICATIONS = 10_000;

    private static final Logger LOG = LoggerFactory.getLogger(NotifyConsumer.class);
    private static final long STOP_POLL_MILLIS = 100;
    /** Put into the buffer to end the consumer's thread. */
    private static final PGNotification END = new Notification("", 0);

    private final BlockingQueue<PGNotification> received = new LinkedBlockingQueue<>(BUFFERED_NOTIFICATIONS);
    private final AtomicBoolean warnedFull = new AtomicBoolean();
    private volatile boolean running;
    private SharedListener.Subscription subscription;
    private ExecutorService executor;

    public NotifyConsumer(ChannelEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    public ChannelEndpoint getEndpoint() {
        return (ChannelEndpoint) super.getEndpoint();
    }

    /** Whether the LISTEN connection is up. */
    public boolean isListening() {
        SharedListener.Subscription current = subscription;
        return current != null && current.listener().isListening();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        ChannelEndpoint endpoint = getEndpoint();
        String channel = endpoint.getChannel();
        running = true;
        executor = endpoint.getCamelContext().getExecutorServiceManager()
                .newSingleThreadExecutor(this, "PgNotifyConsumer[" + channel + "]");
        executor.execute(this::processReceived);
        try {
            // waits until the LISTEN is in effect: what is sent once the route has started reaches it
            subscription = endpoint.listeners().subscribe(ListenerConnections.keyFor(endpoint.getConfiguration()),
                    channel, this, true);
        } catch (Exception e) {
            stopExecutor();
            throw e;
        }
        endpoint.installHealthCheck(this, this);
    }

    @Override
    protected void doStop() throws Exception {
        if (subscription != null) {
            subscription.cancel();
            subscription = null;
        }
        stopExecutor();
        received.clear();
        super.doStop();
    }

    private void stopExecutor() {
        running = false;
        // after the exchange in hand; if the buffer is full, the executor's shutdown interrupts the thread instead
        received.offer(END);
        if (executor != null) {
            // graceful: an exchange being processed is allowed to finish
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(executor);
            executor = null;
        }
    }

    @Override
    public void onListening() {
        // nothing to catch up on: NOTIFY keeps nothing for absent listeners
    }

    @Override
    public void onNotification(PGNotification notification) {
        if (!running) {
            return;
        }
        if (!received.offer(notification)) {
            if (warnedFull.compareAndSet(false, true)) {
                LOG.warn("pgnotify:{}: {} notifications wait for the route; the LISTEN connection waits for it too,"
                         + " which delays the other consumers sharing it", getEndpoint().getChannel(),
                        BUFFERED_NOTIFICATIONS);
            }
            try {
                while (running && !received.offer(notification, STOP_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                    // backpressure: PostgreSQL keeps what follows in its notification queue meanwhile
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void processReceived() {
        while (running) {
            PGNotification notification;
            try {
                notification = received.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (notification == END || !running) {
                return;
            }
            process(notification);
        }
    }

    private void process(PGNotification notification) {
        Exchange exchange = createExchange(false);
        try {
            Message message = exchange.getMessage();
            message.setBody(notification.getParameter());
            message.setHeader(PgNotifyConstants.CHANNEL, notification.getName());
            message.setHeader(PgNotifyConstants.PROCESS_ID, notification.getPID());
            getProcessor().process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        } catch (Error e) {
            // the consumer's thread must outlive a route that throws an Error
            exchange.setException(new CamelExchangeException("The route threw " + e, exchange, e));
        } finally {
            if (exchange.getException() != null) {
                getExceptionHandler().handleException("Error processing a notification of channel "
                                                      + notification.getName(), exchange, exchange.getException());
            }
            releaseExchange(exchange, false);
        }
    }

    @Override
    public void reportHealth(HealthCheckResultBuilder result) {
        SharedListener.Subscription current = subscription;
        if (current == null) {
            result.down().message("pgnotify:" + getEndpoint().getChannel() + " is not started");
            return;
        }
        SharedListener listener = current.listener();
        result.detail("mode", "notify").detail("database", listener.key().toString())
                .detail("reconnects", listener.getReconnects()).detail("buffered", received.size());
        if (listener.getLastFailure() != null) {
            result.detail("lastError", String.valueOf(listener.getLastFailure().getMessage()));
        }
        if (!listener.isListening()) {
            result.down().message("pgnotify:" + getEndpoint().getChannel()
                                  + " has lost its LISTEN connection and is reconnecting");
            if (listener.getLastFailure() != null) {
                result.error(listener.getLastFailure());
            }
        } else if (!listener.isResponsive()) {
            result.down().message("pgnotify:" + getEndpoint().getChannel()
                                  + ": its LISTEN connection has not answered for a while; checking it");
        } else {
            result.up();
        }
    }
}
