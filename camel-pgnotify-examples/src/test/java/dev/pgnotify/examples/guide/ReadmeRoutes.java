package dev.pgnotify.examples.guide;

import org.apache.camel.builder.RouteBuilder;

/** The README's Java routes, verbatim (GuideSamplesTest checks it): GuideRoutesIT runs them. */
public class ReadmeRoutes extends RouteBuilder {

    @Override
    public void configure() {
        // send: each exchange becomes one row of message_queue, committed when to() returns
        from("file:inbox")
            .to("pgnotify:orders");

        // consume: the row is deleted once the exchange has completed; a failed exchange is retried later
        from("pgnotify:orders?concurrentConsumers=4")
            .log("order ${header.CamelPgNotifyMessageId}: ${body}")
            .to("http://billing.example/api/orders");

        // durable broadcast: every group gets every message, the consumers of a group share them
        from("direct:orderPlaced")
            .to("pgnotify:order-events?mode=topic");
        from("pgnotify:order-events?mode=topic&group=billing")
            .to("http://billing.example/api/events");
        from("pgnotify:order-events?mode=topic&group=audit&groupStart=earliest")
            .to("file:audit");

        // plain LISTEN/NOTIFY: every listener gets every notification, nothing is kept
        from("pgnotify:sample_channel?mode=notify")
            .log("Received notification: ${body}");
    }
}

