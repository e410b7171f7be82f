package dev.pgnotify.examples;

import org.apache.camel.builder.RouteBuilder;

/**
 * The tutorial, durable: the same notifier, and two listeners in two groups of a topic, each printing every message.
 * After a few seconds listener2 is stopped for a while and started again: it prints what it missed, then keeps up.
 */
public class DurableTutorialRoutes extends RouteBuilder {

    static final String TOPIC = "pgnotify:sample_channel?mode=topic&topicTable=tutorial_durable.message_topic";

    @Override
    public void configure() {
        // the listeners start first: the first one creates the topic's log that the tutorial's trigger inserts into
        from(TOPIC + "&group=listener1").routeId("listener1").startupOrder(1)
                .log("Received notification: ${body}");
        from(TOPIC + "&group=listener2").routeId("listener2").startupOrder(2)
                .log("Received notification: ${body}");

        from("timer:notifier?period=1000&includeMetadata=true").routeId("notifier").startupOrder(3)
                .setBody(simple("{\"message\": \"message number ${exchangeProperty.CamelTimerCounter}\"}"))
                .to("sql:INSERT INTO tutorial_durable.message_queue (message) VALUES (CAST(:#${body} AS jsonb))"
                    + "?dataSource=#" + TutorialConfiguration.DATA_SOURCE)
                .log("Inserted ${body}");

        // a listener away for a while: what is inserted meanwhile waits for it in the topic
        from("timer:away?delay={{tutorial.awayAfter:4500}}&repeatCount=1").routeId("away").startupOrder(4)
                .log("Stopping listener2 for {{tutorial.awayFor:5000}} ms while the notifier goes on")
                .to("controlbus:route?routeId=listener2&action=stop&async=true");
        from("timer:back?delay={{tutorial.backAfter:9500}}&repeatCount=1").routeId("back").startupOrder(5)
                .log("Starting listener2 again: it prints what it missed, then keeps up")
                .to("controlbus:route?routeId=listener2&action=start&async=true");
    }
}
