package dev.pgnotify.examples;

import org.apache.camel.builder.RouteBuilder;

/**
 * The tutorial's notifier and listener. The listener is all it takes to consume NOTIFY from Camel; mode=notify
 * because the tutorial's trigger sends the whole row as the payload (see the durable queue mode for what that
 * design loses).
 */
public class TutorialRoutes extends RouteBuilder {

    @Override
    public void configure() {
        from("timer:notifier?period=1000&includeMetadata=true").routeId("notifier")
                .setBody(simple("{\"message\": \"message number ${exchangeProperty.CamelTimerCounter}\"}"))
                .to("sql:INSERT INTO tutorial.message_queue (message) VALUES (CAST(:#${body} AS jsonb))"
                    + "?dataSource=#" + TutorialConfiguration.DATA_SOURCE)
                .log("Inserted ${body}");

        from("pgnotify:sample_channel?mode=notify").routeId("listener")
                .log("Received notification: ${body}");
    }
}
