package dev.pgnotify.camel.queue;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.support.MessageCodec;
import dev.pgnotify.camel.support.PooledProducer;
import dev.pgnotify.camel.support.WakeUpSenders;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * mode=queue: inserts the body and headers as one message (or, with batch=true, each element of a collection as
 * its own message, in one transaction), then asks for the channel's consumers to be woken. When the exchange
 * completes, the message is committed: it is delivered even if no consumer runs yet.
 */
public class QueueProducer extends PooledProducer {

    private QueueResources queue;
    private WakeUpSenders.Sender wakeUps;

    public QueueProducer(PgNotifyEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        PgNotifyEndpoint endpoint = getEndpoint();
        try {
            queue = endpoint.queue(database(), this);
            queue.requirePrivileges(database(), this, QueueResources.Role.PRODUCER);
        } catch (Exception e) {
            super.doStop();
            throw e;
        }
        wakeUps = endpoint.getComponent().getWakeUps().acquire(database());
    }

    @Override
    protected void doStop() throws Exception {
        if (wakeUps != null) {
            wakeUps = null;
            getEndpoint().getComponent().getWakeUps().release(database().dataSource());
        }
        super.doStop();
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        Message message = exchange.getMessage();
        Object body = message.getBody();
        String headers = queue.codec().encodeHeaders(message.getHeaders(), exchange);
        if (getEndpoint().getConfiguration().isBatch() && body instanceof Collection<?> elements) {
            message.setHeader(PgNotifyConstants.MESSAGE_ID, insertMany(elements, headers, exchange));
        } else {
            message.setHeader(PgNotifyConstants.MESSAGE_ID, insertOne(body, headers, exchange));
        }
        String wakeUpChannel = queue.table().wakeUpChannel();
        getEndpoint().getComponent().getLocalWakeUps().wake(wakeUpChannel, getEndpoint().getChannel());
        wakeUps.request(wakeUpChannel, getEndpoint().getChannel());
    }

    private long insertOne(Object body, String headers, Exchange exchange) throws Exception {
        MessageCodec.StoredBody stored = queue.codec().encodeBody(body, exchange);
        return database().call(this, "sending a message", connection -> {
            try (PreparedStatement insert = connection.prepareStatement(queue.sql().insertOne)) {
                insert.setString(1, getEndpoint().getChannel());
                insert.setString(2, stored.json());
                insert.setString(3, stored.text());
                if (stored.bytes() != null) {
                    insert.setBytes(4, stored.bytes());
                } else {
                    insert.setNull(4, Types.BINARY);
                }
                insert.setString(5, headers);
                try (ResultSet rs = insert.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    private List<Long> insertMany(Collection<?> elements, String headers, Exchange exchange) throws Exception {
        int size = elements.size();
        String[] json = new String[size];
        String[] text = new String[size];
        byte[][] bytes = new byte[size][];
        int i = 0;
        for (Object element : elements) {
            MessageCodec.StoredBody stored = queue.codec().encodeBody(element, exchange);
            json[i] = stored.json();
            text[i] = stored.text();
            bytes[i] = stored.bytes();
            i++;
        }
        List<Long> ids = database().call(this, "sending " + size + " messages", connection -> {
            List<Long> inserted = new ArrayList<>(size);
            try (PreparedStatement insert = connection.prepareStatement(queue.sql().insertMany)) {
                insert.setString(1, getEndpoint().getChannel());
                insert.setString(2, headers);
                insert.setArray(3, connection.createArrayOf("text", json));
                insert.setArray(4, connection.createArrayOf("text", text));
                insert.setArray(5, connection.createArrayOf("bytea", bytes));
                try (ResultSet rs = insert.executeQuery()) {
                    while (rs.next()) {
                        inserted.add(rs.getLong(1));
                    }
                }
            }
            return inserted;
        });
        // one statement assigns ids in insertion order, which ORDER BY made the list's order
        ids.sort(null);
        return ids;
    }
}
