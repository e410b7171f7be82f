package dev.pgnotify.examples;

import org.apache.camel.builder.RouteBuilder;

/**
 * The outbox relay: the order events that {@link OutboxOrderService} writes with plain SQL, in the application's own
 * transaction, are relayed onwards, here to one JSON file per order. To relay them to Kafka or JMS instead, replace
 * the to(...) line with .to("kafka:order-events") or .to("jms:queue:order-events").
 */
public class OutboxRelayRoutes extends RouteBuilder {

    @Override
    public void configure() {
        from("pgnotify:order-events").routeId("outbox-relay")
                .to("file:{{demo.dir}}/order-events?fileName=order-${header.orderId}.json")
                .log("order ${header.orderId} relayed: ${body}");
    }
}
