package dev.pgnotify.examples;

import java.io.IOException;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyInvalidChannelException;
import dev.pgnotify.camel.PgNotifyPayloadTooLargeException;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;

/**
 * HTTP in: POST /channels/{channel}/messages publishes the request body on that channel and answers 202 with the
 * message id; ?mode=notify sends a plain NOTIFY instead. An invalid channel or mode gets 400, a body too large for
 * NOTIFY 413. The channel is validated before it goes into an endpoint URI, so no request can choose other options.
 */
public class HttpInRoutes extends RouteBuilder {

    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public void configure() {
        onException(PgNotifyInvalidChannelException.class, IllegalArgumentException.class)
                .handled(true)
                .setHeader(Exchange.HTTP_RESPONSE_CODE, constant(400))
                .process(HttpInRoutes::errorAsJson);
        onException(PgNotifyPayloadTooLargeException.class)
                .handled(true)
                .setHeader(Exchange.HTTP_RESPONSE_CODE, constant(413))
                .process(HttpInRoutes::errorAsJson);

        from("platform-http:/channels/{channel}/messages?httpMethodRestrict=POST").routeId("http-in")
                .process(exchange -> {
                    var in = exchange.getMessage();
                    exchange.setProperty("channel", PgIdentifiers.requireValidChannel(in.getHeader("channel", String.class)));
                    String mode = in.getHeader("mode", "queue", String.class);
                    if (!mode.equals("queue") && !mode.equals("notify")) {
                        throw new IllegalArgumentException("mode must be queue or notify, not '" + mode + "'");
                    }
                    exchange.setProperty("mode", mode);
                    String contentType = in.getHeader(Exchange.CONTENT_TYPE, "", String.class);
                    // text and JSON travel as text (JSON lands in jsonb); anything else byte for byte
                    in.setBody(contentType.startsWith("text/") || contentType.contains("json")
                            ? in.getBody(String.class) : in.getBody(byte[].class));
                })
                // the request's own headers (Host, Content-Length, ...) must not travel to whoever consumes
                .removeHeaders("*", Exchange.CONTENT_TYPE)
                .toD("pgnotify:${exchangeProperty.channel}?mode=${exchangeProperty.mode}")
                .setHeader(Exchange.HTTP_RESPONSE_CODE, constant(202))
                .setHeader(Exchange.CONTENT_TYPE, constant("application/json"))
                .process(exchange -> {
                    Map<String, Object> accepted = new LinkedHashMap<>();
                    Object id = exchange.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID);
                    if (id != null) {
                        accepted.put("id", id);
                    }
                    accepted.put("channel", exchange.getProperty("channel"));
                    accepted.put("mode", exchange.getProperty("mode"));
                    exchange.getMessage().setBody(json(accepted));
                });

        // the demo's consumer of the channel its traffic posts to
        from("pgnotify:greetings").routeId("greetings")
                .log("greeting ${header." + PgNotifyConstants.MESSAGE_ID + "}: ${body}");
    }

    private static void errorAsJson(Exchange exchange) throws IOException {
        Exception error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.getMessage().setBody(json(Map.of("error", error.getMessage())));
    }

    private static String json(Map<String, Object> fields) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            for (Map.Entry<String, Object> field : fields.entrySet()) {
                json.writeObjectField(field.getKey(), field.getValue());
            }
            json.writeEndObject();
        }
        return out.toString();
    }
}
