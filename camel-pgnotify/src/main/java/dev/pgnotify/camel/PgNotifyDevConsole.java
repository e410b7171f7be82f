package dev.pgnotify.camel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import dev.pgnotify.camel.admin.ConsumerHealthCheck;
import dev.pgnotify.camel.claim.ClaimingConsumer;
import dev.pgnotify.camel.listen.ListenerConnections;
import dev.pgnotify.camel.notify.NotifyConsumer;
import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Route;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.spi.annotations.DevConsole;
import org.apache.camel.support.console.AbstractDevConsole;
import org.apache.camel.util.URISupport;
import org.apache.camel.util.json.JsonArray;
import org.apache.camel.util.json.JsonObject;

/**
 * The pgnotify dev console (Camel Main with camel.main.dev-console-enabled=true, Camel JBang, Spring Boot's
 * /actuator/camel): per channel the messages waiting, in flight, retrying and dead, the oldest one's age (per group in
 * mode=topic, whose waiting count is the group's lag); per consumer its health and figures since start; per database
 * the notification queue's usage. Measured in the database at most once a second per channel, each measurement
 * bounded (3 s), on the caller's thread: it never holds up a consumer.
 */
@DevConsole(name = "pgnotify", displayName = "PgNotify",
            description = "pgnotify channels (waiting, in flight, retrying, dead letters, lag) and consumers")
public class PgNotifyDevConsole extends AbstractDevConsole {

    public PgNotifyDevConsole() {
        super("camel", "pgnotify", "PgNotify",
                "pgnotify channels (waiting, in flight, retrying, dead letters, lag) and consumers");
    }

    @Override
    protected Map<String, Object> doCallJson(Map<String, Object> options) {
        JsonObject root = new JsonObject();
        JsonArray channels = new JsonArray();
        Map<String, PgNotifyEndpoint> databases = new LinkedHashMap<>();
        for (PgNotifyEndpoint endpoint : distinctDurableEndpoints()) {
            String database = database(endpoint);
            if (database != null) {
                databases.putIfAbsent(database, endpoint);
            }
            try {
                for (PgNotifyStatistics statistics : endpoint.statistics()) {
                    JsonObject channel = describe(endpoint);
                    if (statistics.group() != null) {
                        channel.put("group", statistics.group());
                    }
                    channel.put("waiting", statistics.waiting());
                    channel.put("inFlight", statistics.inFlight());
                    channel.put("retrying", statistics.retrying());
                    channel.put("delayed", statistics.delayed());
                    channel.put("deadLetters", statistics.deadLetters());
                    if (statistics.oldestAgeMillis() != null) {
                        channel.put("oldestAgeMillis", statistics.oldestAgeMillis());
                    }
                    if (statistics.capped()) {
                        channel.put("capped", PgNotifyStatistics.COUNT_CAP);
                    }
                    channels.add(channel);
                }
            } catch (Exception e) {
                JsonObject channel = describe(endpoint);
                channel.put("error", e.getMessage());
                channels.add(channel);
            }
        }
        root.put("channels", channels);

        JsonArray consumers = new JsonArray();
        for (Route route : getCamelContext().getRoutes()) {
            Consumer consumer = route.getConsumer();
            if (consumer instanceof ClaimingConsumer || consumer instanceof NotifyConsumer) {
                consumers.add(describe(route, consumer));
            }
        }
        root.put("consumers", consumers);

        JsonArray notificationQueues = new JsonArray();
        for (Map.Entry<String, PgNotifyEndpoint> database : databases.entrySet()) {
            JsonObject queue = new JsonObject();
            queue.put("database", database.getKey());
            try {
                queue.put("usage", database.getValue().getAdmin().notificationQueueUsage());
            } catch (Exception e) {
                queue.put("error", e.getMessage());
            }
            notificationQueues.add(queue);
        }
        root.put("notificationQueues", notificationQueues);
        return root;
    }

    @Override
    protected String doCallText(Map<String, Object> options) {
        JsonObject json = (JsonObject) doCallJson(options);
        StringBuilder text = new StringBuilder();
        text.append("Channels:\n");
        for (Object item : json.getCollection("channels")) {
            JsonObject channel = (JsonObject) item;
            text.append(String.format("    %s %s%s (%s)", channel.getString("mode"), channel.getString("channel"),
                    channel.containsKey("group") ? " group " + channel.getString("group") : "",
                    channel.getString("table")));
            if (channel.containsKey("error")) {
                text.append(": cannot measure: ").append(channel.getString("error")).append('\n');
                continue;
            }
            text.append(String.format(": %d waiting, %d in flight, %d retrying, %d delayed, %d dead%s%s%n",
                    channel.getLong("waiting"), channel.getLong("inFlight"), channel.getLong("retrying"),
                    channel.getLong("delayed"),
                    channel.getLong("deadLetters"),
                    channel.containsKey("oldestAgeMillis")
                            ? ", oldest " + channel.getLong("oldestAgeMillis") + " ms" : "",
                    channel.containsKey("capped") ? " (counts stop at " + channel.getLong("capped") + ")" : ""));
        }
        text.append("Consumers:\n");
        for (Object item : json.getCollection("consumers")) {
            JsonObject consumer = (JsonObject) item;
            text.append(String.format("    %s (pgnotify:%s) %s", consumer.getString("routeId"),
                    consumer.getString("channel"), consumer.getString("state")));
            if (consumer.containsKey("message")) {
                text.append(": ").append(consumer.getString("message"));
            }
            text.append('\n');
            Map<?, ?> details = consumer.getMap("details");
            if (details != null && !details.isEmpty()) {
                text.append("        ");
                List<String> pairs = new ArrayList<>();
                details.forEach((key, value) -> pairs.add(key + "=" + value));
                text.append(String.join(", ", pairs)).append('\n');
            }
        }
        text.append("Notification queues:\n");
        for (Object item : json.getCollection("notificationQueues")) {
            JsonObject queue = (JsonObject) item;
            text.append("    ").append(queue.getString("database")).append(": ")
                    .append(queue.containsKey("error") ? "cannot read: " + queue.getString("error")
                            : String.format("%.4f%% used", queue.getDouble("usage") * 100))
                    .append('\n');
        }
        return text.toString();
    }

    /** The durable endpoints of the context, one per channel of a table (and group), in order of mode, table, channel. */
    private List<PgNotifyEndpoint> distinctDurableEndpoints() {
        Map<String, PgNotifyEndpoint> distinct = new TreeMap<>();
        for (Endpoint endpoint : getCamelContext().getEndpoints()) {
            if (endpoint instanceof PgNotifyEndpoint pgnotify
                && pgnotify.getConfiguration().getMode() != PgNotifyMode.NOTIFY) {
                PgNotifyConfiguration configuration = pgnotify.getConfiguration();
                String key = pgnotify.getMode() + " " + table(pgnotify) + " " + pgnotify.getChannel() + " "
                             + configuration.getGroup() + " " + database(pgnotify);
                distinct.putIfAbsent(key, pgnotify);
            }
        }
        return new ArrayList<>(distinct.values());
    }

    /** The database an endpoint uses (URL and user, never the password), or null when it has none configured. */
    private static String database(PgNotifyEndpoint endpoint) {
        try {
            return ListenerConnections.keyFor(endpoint.getConfiguration()).toString();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static JsonObject describe(PgNotifyEndpoint endpoint) {
        JsonObject channel = new JsonObject();
        channel.put("channel", endpoint.getChannel());
        channel.put("mode", endpoint.getMode());
        channel.put("table", table(endpoint));
        channel.put("endpoint", URISupport.sanitizeUri(endpoint.getEndpointUri()));
        return channel;
    }

    private static String table(PgNotifyEndpoint endpoint) {
        return endpoint.getConfiguration().getMode() == PgNotifyMode.TOPIC
                ? endpoint.getConfiguration().getTopicTable() : endpoint.getConfiguration().getTable();
    }

    private static JsonObject describe(Route route, Consumer consumer) {
        PgNotifyEndpoint endpoint = (PgNotifyEndpoint) consumer.getEndpoint();
        JsonObject described = new JsonObject();
        described.put("routeId", route.getRouteId());
        described.put("channel", endpoint.getChannel());
        described.put("mode", endpoint.getMode());
        if (endpoint.getConfiguration().getGroup() != null) {
            described.put("group", endpoint.getConfiguration().getGroup());
        }
        HealthCheck.Result health = new ConsumerHealthCheck(route.getRouteId(), endpoint.getChannel(),
                (ConsumerHealthCheck.Monitored) consumer).call();
        described.put("state", health.getState().name());
        health.getMessage().ifPresent(message -> described.put("message", message));
        // the check's own bookkeeping and what the entry already says are left out; the rest sorted by name
        Set<String> shown = new TreeSet<>(health.getDetails().keySet());
        shown.removeIf(key -> key.contains(".") || key.equals("routeId") || key.equals("channel")
                              || key.equals("mode"));
        JsonObject details = new JsonObject();
        for (String key : shown) {
            details.put(key, health.getDetails().get(key));
        }
        described.put("details", details);
        return described;
    }
}
