package dev.pgnotify.examples;

import java.math.BigDecimal;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;

/**
 * Something to watch: every demo.traffic.period (demo.traffic.count times, or forever with 0) it drops a file in the
 * inbox, POSTs a greeting to the HTTP-in endpoint, raises a webhook event (every tenth a poison one that the receiver
 * always refuses, to show the dead letter) and places an outbox order. Also plays the webhook receiver, refusing every
 * third request, to show retries.
 */
public class DemoTrafficRoutes extends RouteBuilder {

    private final Set<String> bridges;
    private final OutboxOrderService orders;
    private final AtomicInteger receiverRequests = new AtomicInteger();

    public DemoTrafficRoutes(Set<String> bridges, OutboxOrderService orders) {
        this.bridges = bridges;
        this.orders = orders;
    }

    @Override
    public void configure() {
        // Ctrl+C: Camel suspends every consumer, the HTTP endpoint too (it answers 503), then lets the traffic in hand
        // finish; that last round is not a failure worth a stack trace
        onException(Exception.class).onWhen(exchange -> getContext().isStopping()).handled(true)
                .log("stopping: the last round of traffic is dropped (${exception.message})");

        var traffic = from("timer:demo-traffic?period={{demo.traffic.period}}&repeatCount={{demo.traffic.count}}"
                           + "&includeMetadata=true")
                .routeId("demo-traffic")
                .setProperty("n", exchangeProperty(Exchange.TIMER_COUNTER));
        if (bridges.contains("files")) {
            traffic.setBody(simple("a note written at ${date:now:HH:mm:ss}"))
                    .setHeader(Exchange.FILE_NAME, simple("note-${exchangeProperty.n}.txt"))
                    .to("file:{{demo.dir}}/inbox");
        }
        if (bridges.contains("http-in")) {
            traffic.removeHeaders("*")
                    .setBody(simple("{\"greeting\": \"hello\", \"n\": ${exchangeProperty.n}}"))
                    .setHeader(Exchange.HTTP_METHOD, constant("POST"))
                    .setHeader(Exchange.CONTENT_TYPE, constant("application/json"))
                    .to("http://localhost:{{camel.server.port}}/channels/greetings/messages");
        }
        if (bridges.contains("webhooks")) {
            traffic.removeHeaders("*")
                    .process(exchange -> {
                        long n = exchange.getProperty("n", Long.class);
                        String event = n % 10 == 0 ? "poison" : "tick";
                        exchange.getMessage().setBody("{\"event\": \"" + event + "\", \"n\": " + n + "}");
                    })
                    .to("pgnotify:webhooks");

            from("platform-http:/demo/receiver?httpMethodRestrict=POST").routeId("demo-webhook-receiver")
                    .process(exchange -> {
                        String body = exchange.getMessage().getBody(String.class);
                        int request = receiverRequests.incrementAndGet();
                        int status = body.contains("poison") ? 500 : request % 3 == 0 ? 503 : 200;
                        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, status);
                        exchange.getMessage().setBody(status == 200 ? "ok" : "refused");
                    });
        }
        if (bridges.contains("outbox")) {
            traffic.process(exchange -> orders.placeOrder("customer-" + exchange.getProperty("n"), new BigDecimal("19.90")));
        }
    }
}
