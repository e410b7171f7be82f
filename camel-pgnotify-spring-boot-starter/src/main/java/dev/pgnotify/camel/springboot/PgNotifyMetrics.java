package dev.pgnotify.camel.springboot;

import java.sql.SQLException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyMode;
import dev.pgnotify.camel.PgNotifyStatistics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.spring.boot.CamelContextConfiguration;
import org.apache.camel.support.LifecycleStrategySupport;
import org.springframework.beans.factory.ObjectProvider;

/**
 * Micrometer gauges of each pgnotify channel the application uses, read from the database (at most once a second
 * per channel, however often they are scraped): {@code pgnotify.messages} tagged {@code state} = waiting, in_flight,
 * retrying or dead, and {@code pgnotify.oldest.age} (seconds), both tagged with {@code channel}, {@code table},
 * {@code mode} and {@code group} (mode=topic; "" for queues). A gauge reads NaN while its channel cannot be measured.
 * Registered as endpoints are created; a topic endpoint without a group (a producer's) measures nothing here: its
 * groups' consumers do.
 */
public class PgNotifyMetrics implements CamelContextConfiguration {

    private final ObjectProvider<MeterRegistry> registries;
    private final Set<String> registered = ConcurrentHashMap.newKeySet();
    private MeterRegistry registry;

    public PgNotifyMetrics(ObjectProvider<MeterRegistry> registries) {
        this.registries = registries;
    }

    @Override
    public void beforeApplicationStart(CamelContext camelContext) {
        registry = registries.getIfAvailable();
        if (registry == null) {
            return;
        }
        camelContext.addLifecycleStrategy(new LifecycleStrategySupport() {
            @Override
            public void onEndpointAdd(Endpoint endpoint) {
                if (endpoint instanceof PgNotifyEndpoint pgnotify) {
                    register(pgnotify);
                }
            }
        });
    }

    @Override
    public void afterApplicationStart(CamelContext camelContext) {
        if (registry == null) {
            return;
        }
        // endpoints created before the strategy was added
        for (Endpoint endpoint : camelContext.getEndpoints()) {
            if (endpoint instanceof PgNotifyEndpoint pgnotify) {
                register(pgnotify);
            }
        }
    }

    private void register(PgNotifyEndpoint endpoint) {
        PgNotifyMode mode = endpoint.getConfiguration().getMode();
        String group = endpoint.getConfiguration().getGroup();
        if (mode == PgNotifyMode.NOTIFY || mode == PgNotifyMode.TOPIC && group == null) {
            return;
        }
        String table = mode == PgNotifyMode.TOPIC ? endpoint.getConfiguration().getTopicTable()
                : endpoint.getConfiguration().getTable();
        Tags tags = Tags.of("channel", endpoint.getChannel(), "table", table, "mode", endpoint.getMode(), "group",
                group == null ? "" : group);
        if (!registered.add(tags.toString())) {
            return;
        }
        gauge("pgnotify.messages", tags.and("state", "waiting"), endpoint, PgNotifyStatistics::waiting,
                "Messages waiting: due and not claimed (mode=topic: the group's lag)");
        gauge("pgnotify.messages", tags.and("state", "in_flight"), endpoint, PgNotifyStatistics::inFlight,
                "Messages claimed by a consumer, lease running");
        gauge("pgnotify.messages", tags.and("state", "retrying"), endpoint, PgNotifyStatistics::retrying,
                "Messages that failed and wait for their next delivery");
        gauge("pgnotify.messages", tags.and("state", "delayed"), endpoint, PgNotifyStatistics::delayed,
                "Messages sent with a delay that are not due yet");
        gauge("pgnotify.messages", tags.and("state", "dead"), endpoint, PgNotifyStatistics::deadLetters,
                "Messages in the dead-letter table");
        Gauge.builder("pgnotify.oldest.age", endpoint, e -> figure(e, s -> s.oldestAgeMillis() == null
                ? 0 : s.oldestAgeMillis() / 1000.0))
                .tags(tags).baseUnit("seconds")
                .description("Age of the oldest message not processed yet").register(registry);
    }

    private void gauge(String name, Tags tags, PgNotifyEndpoint endpoint, ToDoubleFunction<PgNotifyStatistics> value,
                       String description) {
        Gauge.builder(name, endpoint, e -> figure(e, value)).tags(tags).description(description).register(registry);
    }

    private static double figure(PgNotifyEndpoint endpoint, ToDoubleFunction<PgNotifyStatistics> value) {
        try {
            List<PgNotifyStatistics> statistics = endpoint.statistics();
            return statistics.isEmpty() ? Double.NaN : value.applyAsDouble(statistics.get(0));
        } catch (SQLException | RuntimeException e) {
            return Double.NaN;
        }
    }
}
