package dev.pgnotify.examples;

import java.io.File;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles the demo from its bridges: demo.bridges picks them (files, http-in, webhooks, outbox, and kafka, which
 * needs a broker), demo.dsl=yaml loads the file bridge, the webhook relay and the Kafka relay from their YAML route
 * files instead of Java, demo.traffic adds traffic.
 */
public class DemoConfiguration implements CamelConfiguration {

    public static final Set<String> ALL_BRIDGES = Set.of("files", "http-in", "webhooks", "outbox", "kafka");

    private static final Logger LOG = LoggerFactory.getLogger(DemoConfiguration.class);

    @Override
    public void configure(CamelContext camelContext) throws Exception {
        PropertiesComponent properties = camelContext.getPropertiesComponent();
        Set<String> bridges = Arrays.stream(properties.resolveProperty("demo.bridges").orElse("").split(","))
                .map(String::trim).filter(b -> !b.isEmpty()).collect(Collectors.toCollection(LinkedHashSet::new));
        if (!ALL_BRIDGES.containsAll(bridges)) {
            throw new IllegalArgumentException("demo.bridges takes " + ALL_BRIDGES + ", not " + bridges);
        }
        boolean yaml = "yaml".equals(properties.resolveProperty("demo.dsl").orElse("java"));

        DataSource dataSource = ExampleDatabase.dataSource(camelContext);
        DemoStatus status = new DemoStatus(dataSource);
        camelContext.getManagementStrategy().addEventNotifier(status);
        camelContext.getRegistry().bind(DemoStatus.class.getSimpleName(), status);

        if (bridges.contains("files")) {
            addRoutes(camelContext, yaml, new FileBridgeRoutes(), "routes/file-bridge.yaml");
            LOG.info("File bridge: drop files into {}; they come out of {}",
                    new File(properties.resolveProperty("demo.dir").orElseThrow(), "inbox").getAbsolutePath(),
                    new File(properties.resolveProperty("demo.dir").orElseThrow(), "outbox").getAbsolutePath());
        }
        if (bridges.contains("http-in")) {
            camelContext.addRoutes(new HttpInRoutes());
            LOG.info("HTTP in: java camel-pgnotify-examples/Post.java http://localhost:{}/channels/greetings/messages"
                     + " application/json '{\"hello\": 1}'",
                    properties.resolveProperty("camel.server.port").orElse("8080"));
        }
        if (bridges.contains("webhooks")) {
            addRoutes(camelContext, yaml, new WebhookRelayRoutes(), "routes/webhook-relay.yaml");
        }
        if (bridges.contains("kafka")) {
            addRoutes(camelContext, yaml, new KafkaRelayRoutes(), "routes/kafka-relay.yaml");
            LOG.info("Kafka relay: pgnotify:{} to the Kafka topic {} on {}",
                    properties.resolveProperty("demo.kafka.channel").orElseThrow(),
                    properties.resolveProperty("demo.kafka.topic").orElseThrow(),
                    properties.resolveProperty("demo.kafka.brokers").orElseThrow());
        }
        OutboxOrderService orders = null;
        if (bridges.contains("outbox")) {
            orders = new OutboxOrderService(dataSource, status);
            camelContext.getRegistry().bind(OutboxOrderService.class.getSimpleName(), orders);
            camelContext.addRoutes(new OutboxRelayRoutes());
        }
        if (Boolean.parseBoolean(properties.resolveProperty("demo.traffic").orElse("false"))) {
            camelContext.addRoutes(new DemoTrafficRoutes(bridges, orders));
        }
        camelContext.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("timer:status?period={{demo.status-interval}}").routeId("status")
                        .bean(DemoStatus.class.getSimpleName(), "log");
            }
        });
    }

    private static void addRoutes(CamelContext camelContext, boolean yaml, RoutesBuilder java, String yamlFile)
            throws Exception {
        if (yaml) {
            PluginHelper.getRoutesLoader(camelContext)
                    .loadRoutes(ResourceHelper.resolveMandatoryResource(camelContext, "classpath:" + yamlFile));
        } else {
            camelContext.addRoutes(java);
        }
    }
}
