package dev.pgnotify.camel.notify;

import java.util.concurrent.ExecutorService;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.support.NotificationListener;
import org.apache.camel.CamelExchangeException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.support.DefaultConsumer;
import org.postgresql.PGNotification;

/**
 * mode=notify: LISTENs on the channel and turns each notification into an Exchange, in the order PostgreSQL
 * delivers them. Every consumer of a channel receives every notification; what is sent while the connection is
 * down is lost (mode=queue keeps it).
 */
public class NotifyConsumer extends DefaultConsumer implements NotificationListener.Handler {

    private NotificationListener listener;
    private ExecutorService executor;

    public NotifyConsumer(PgNotifyEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    public PgNotifyEndpoint getEndpoint() {
        return (PgNotifyEndpoint) super.getEndpoint();
    }

    /** Whether the LISTEN connection is up. */
    public boolean isListening() {
        return listener != null && listener.isListening();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        PgNotifyEndpoint endpoint = getEndpoint();
        String channel = endpoint.getChannel();
        listener = new NotificationListener(channel, () -> endpoint.getConnections().openListenerConnection(channel),
                endpoint.getConfiguration(), this);
        listener.connect();
        executor = endpoint.getCamelContext().getExecutorServiceManager()
                .newSingleThreadExecutor(this, "PgNotifyConsumer[" + channel + "]");
        executor.execute(listener);
        endpoint.installHealthCheck(this, listener);
    }

    @Override
    protected void doStop() throws Exception {
        if (listener != null) {
            listener.stop();
        }
        if (executor != null) {
            // graceful: an exchange being processed on the listener thread is allowed to finish
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownGraceful(executor);
            executor = null;
        }
        listener = null;
        super.doStop();
    }

    @Override
    public void onListening() {
        // nothing to catch up on: NOTIFY keeps nothing for absent listeners
    }

    @Override
    public void onNotification(PGNotification notification) {
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
            // the listener thread must outlive a route that throws an Error
            exchange.setException(new CamelExchangeException("The route threw " + e, exchange, e));
        } finally {
            if (exchange.getException() != null) {
                getExceptionHandler().handleException("Error processing a notification of channel "
                                                      + notification.getName(), exchange, exchange.getException());
            }
            releaseExchange(exchange, false);
        }
    }
}
