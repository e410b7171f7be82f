package dev.pgnotify.examples;

import dev.pgnotify.camel.PgNotifyConstants;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;

/**
 * HTTP out: every message of the webhooks channel is POSTed to demo.webhook.url. A receiver that fails (any status
 * from 300 up, or no answer) makes the exchange fail, so the queue delivers the message again after its backoff and,
 * after the last attempt, moves it to the dead-letter table; messages behind it keep flowing. The receiver can use
 * X-Message-Id to recognise a redelivery. The same route in YAML: routes/webhook-relay.yaml.
 */
public class WebhookRelayRoutes extends RouteBuilder {

    @Override
    public void configure() {
        // the queue retries and dead-letters: Camel's error handler would only log each failure a second time
        errorHandler(noErrorHandler());

        from("pgnotify:webhooks?maxAttempts={{demo.webhook.max-attempts}}&retryDelay={{demo.webhook.retry-delay}}")
                .routeId("webhook-relay")
                .setHeader(Exchange.HTTP_METHOD, constant("POST"))
                .setHeader("X-Message-Id", header(PgNotifyConstants.MESSAGE_ID))
                .to("{{demo.webhook.url}}")
                .log("webhook ${header.X-Message-Id} delivered on attempt ${header." + PgNotifyConstants.ATTEMPT + "}");
    }
}
