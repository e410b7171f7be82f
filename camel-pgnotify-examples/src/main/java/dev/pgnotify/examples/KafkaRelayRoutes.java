package dev.pgnotify.examples;

import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;

/**
 * Relays a pgnotify channel to a Kafka topic, for applications that outgrow one PostgreSQL. Each message becomes one
 * record: its key is the message's {@code key} header when the publisher set one (an order id, say: Kafka keeps a
 * key's records in order), else its pgnotify id; the pgnotify id also travels as the record header
 * {@code pgnotify.message.id}, so consumers can drop the rare duplicate. The message is acknowledged in PostgreSQL
 * only once Kafka has acknowledged the record (acks=all, idempotent producer).
 * <p>
 * Order: one consumer thread sends one record at a time (synchronous=true), and a send that fails is retried here, in place, with
 * backoff, rather than by the queue later: the messages behind it wait, so the topic receives them in the channel's
 * order. Only after {@code demo.kafka.max-redeliveries} failed sends (about an hour and a half by default) does the
 * message go back to the queue's retry, and the order of that one message can no longer be kept.
 */
public class KafkaRelayRoutes extends RouteBuilder {

    @Override
    public void configure() {
        errorHandler(defaultErrorHandler()
                .maximumRedeliveries(Integer.parseInt(
                        getContext().resolvePropertyPlaceholders("{{demo.kafka.max-redeliveries}}")))
                .redeliveryDelay(200).useExponentialBackOff().backOffMultiplier(2).maximumRedeliveryDelay(5000)
                .retryAttemptedLogLevel(LoggingLevel.WARN));

        from("pgnotify:{{demo.kafka.channel}}?concurrentConsumers=1").routeId("kafka-relay")
                .setHeader("kafka.KEY", simple("${header.key} ?: ${header.CamelPgNotifyMessageId}"))
                // as text, which any consumer reads (a number would travel as 8 binary bytes)
                .setHeader("pgnotify.message.id", simple("${header.CamelPgNotifyMessageId}", String.class))
                .to("kafka:{{demo.kafka.topic}}?brokers={{demo.kafka.brokers}}"
                    + "&requestRequiredAcks=all&enableIdempotence=true&maxInFlightRequest=5"
                    + "&deliveryTimeoutMs=30000&requestTimeoutMs=10000&retryBackoffMs=200"
                    + "&reconnectBackoffMaxMs=1000&lingerMs=0"
                    // one record in flight at a time anyway: waiting on the send itself spares camel-kafka's hand-off
                    // of each acknowledgement to a worker thread (measured: 0.51x the plain producer without it,
                    // 0.69x with it)
                    + "&synchronous=true");
    }
}
