package dev.pgnotify.camel.notify;

import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;

import dev.pgnotify.camel.PgNotifyPayloadTooLargeException;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.produce.PooledProducer;
import org.apache.camel.Exchange;

/**
 * mode=notify: sends the body as the payload of a NOTIFY on the channel, with {@code pg_notify(channel, payload)}.
 */
public class NotifyProducer extends PooledProducer {

    /** PostgreSQL rejects payloads of 8000 bytes or more (in the server encoding; pgnotify assumes UTF-8). */
    public static final int MAX_PAYLOAD_BYTES = 7999;

    public NotifyProducer(ChannelEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        String payload = exchange.getMessage().getBody(String.class);
        if (payload == null) {
            payload = "";
        }
        int size = payload.getBytes(StandardCharsets.UTF_8).length;
        if (size > MAX_PAYLOAD_BYTES) {
            throw new PgNotifyPayloadTooLargeException(
                    "The body is " + size + " bytes, over PostgreSQL's NOTIFY payload limit of " + MAX_PAYLOAD_BYTES
                                                       + " bytes (mode=notify); nothing was sent. Use mode=queue for"
                                                       + " bodies of any size.",
                    size, MAX_PAYLOAD_BYTES);
        }
        String notification = payload;
        database().call(this, "sending a NOTIFY", connection -> {
            try (PreparedStatement notify = connection.prepareStatement(NotifySql.NOTIFY)) {
                notify.setString(1, getEndpoint().getChannel());
                notify.setString(2, notification);
                notify.execute();
            }
            return null;
        });
    }
}
