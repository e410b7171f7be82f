package dev.pgnotify.camel.history;

import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConstants;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * A consumer route's work: records the delivery's start, works for the planned time, then does what the message's body
 * says for this delivery (CamelPgNotifyAttempt): fail (the route throws, so the message is retried or dead-lettered),
 * interrupt its own thread and return normally, or simply complete. The end is recorded before the route returns,
 * so before the message is acknowledged: a later delivery of the same key must start after it.
 */
final class DeliveryRecorder implements Processor {

    /** What a planned failure throws. */
    static final class PlannedFailure extends RuntimeException {
        PlannedFailure(String message) {
            super(message, null, false, false);
        }
    }

    private final EventLog events;
    private final String jvm;

    DeliveryRecorder(EventLog events, String jvm) {
        this.events = events;
        this.jvm = jvm;
    }

    @Override
    public void process(Exchange exchange) {
        String text = exchange.getMessage().getBody(String.class);
        PlannedMessage.Body body = PlannedMessage.parseBody(text);
        Long id = exchange.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class);
        Integer attempt = exchange.getMessage().getHeader(PgNotifyConstants.ATTEMPT, Integer.class);
        String group = exchange.getMessage().getHeader(PgNotifyConstants.GROUP, String.class);
        String thread = Thread.currentThread().getName();
        int delivery = attempt == null ? 1 : attempt;
        events.append(EventLog.DELIVERY_START, "token", body.token(), "id", id, "attempt", attempt, "group", group,
                "jvm", jvm, "thread", thread);
        String result = "ERROR";
        try {
            // stands for the route's work: a message is in a consumer's hands for a while, as in real routes
            TimeUnit.MILLISECONDS.sleep(body.workMillis());
            if (body.fails(delivery)) {
                result = "FAILED";
                throw new PlannedFailure("planned failure of " + body.token() + " on delivery " + delivery);
            }
            if (body.interruptAttempt() == delivery) {
                result = "INTERRUPTED";
                // as a route that swallowed an InterruptedException without handling it would leave its thread
                Thread.currentThread().interrupt();
                return;
            }
            result = "OK";
        } catch (InterruptedException e) {
            // the thread was interrupted: the consumer stopping in the middle of the work, or (at once, as the route
            // began) an interrupt that an earlier route left on the thread. The delivery fails and comes again; as a
            // well-behaved route does, this one restores the flag for whoever runs the thread
            Thread.currentThread().interrupt();
            result = "ABORTED";
            throw new PlannedFailure("interrupted while working on " + body.token());
        } finally {
            events.append(EventLog.DELIVERY_END, "token", body.token(), "id", id, "attempt", attempt, "group", group,
                    "jvm", jvm, "thread", thread, "result", result);
        }
    }
}
