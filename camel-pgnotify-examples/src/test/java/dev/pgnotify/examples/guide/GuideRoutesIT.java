package dev.pgnotify.examples.guide;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.component.file.FileComponent;
import org.apache.camel.component.file.GenericFileEndpoint;
import org.apache.camel.component.http.HttpComponent;
import org.apache.camel.component.mock.MockComponent;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The README's routes, in Java and in YAML, run as a user copies them, against a real PostgreSQL: what the README
 * says each does, it does. Only their far ends are replaced: the HTTP services they call by mock endpoints (camel-http
 * resolves the scheme, its endpoints are mocks), and their
 * relative directories (inbox, audit) put under a temporary directory. Each run has a schema of its own.
 */
class GuideRoutesIT {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void theJavaRoutesDoWhatTheReadmeSays() throws Exception {
        try (CamelContext context = context("guide_java")) {
            context.addRoutes(new ReadmeRoutes());
            context.start();
            awaitGroups("guide_java", 2);
            ProducerTemplate template = context.createProducerTemplate();

            // send: a file of the inbox becomes a queued message, consumed and passed on to billing
            Path staged = Files.writeString(Files.createDirectories(dir.resolve("staging")).resolve("order-1.json"),
                    "{\"order\": 1}");
            Files.move(staged, Files.createDirectories(dir.resolve("inbox")).resolve("order-1.json"),
                    StandardCopyOption.ATOMIC_MOVE);
            awaitBody(context, "http://billing.example/api/orders", "{\"order\": 1}");

            // durable broadcast: billing and audit each get the event
            template.sendBody("direct:orderPlaced", "{\"event\": 7}");
            awaitBody(context, "http://billing.example/api/events", "{\"event\": 7}");
            await().atMost(WAIT).until(() -> {
                File[] audited = dir.resolve("audit").toFile().listFiles();
                return audited != null && audited.length == 1
                       && Files.readString(audited[0].toPath()).equals("{\"event\": 7}");
            });

            // plain LISTEN/NOTIFY: a NOTIFY from anywhere reaches the listener
            awaitNotified(new NotifyBuilder(context).from("pgnotify://sample_channel*").whenCompleted(1).create());
        }
    }

    @Test
    void theYamlRoutesDoWhatTheReadmeSays() throws Exception {
        try (CamelContext context = context("guide_yaml")) {
            PluginHelper.getRoutesLoader(context)
                    .loadRoutes(ResourceHelper.resolveMandatoryResource(context, "classpath:guide/readme-routes.yaml"));
            context.start();
            awaitGroups("guide_yaml", 1);
            ProducerTemplate template = context.createProducerTemplate();

            template.sendBody("pgnotify:orders", "{\"order\": 2}");
            awaitBody(context, "http://billing.example/api/orders", "{\"order\": 2}");
            template.sendBody("pgnotify:order-events?mode=topic", "{\"event\": 8}");
            awaitBody(context, "http://billing.example/api/events", "{\"event\": 8}");
            awaitNotified(new NotifyBuilder(context).from("pgnotify://sample_channel*").whenCompleted(1).create());
        }
    }

    /** A context whose pgnotify endpoints use tables in a schema of their own, HTTP mocked, files under dir. */
    private CamelContext context(String schema) throws Exception {
        PgTestServer server = PgTestServer.get();
        server.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema);
        CamelContext context = new DefaultCamelContext();
        PgNotifyComponent pgnotify = new PgNotifyComponent();
        pgnotify.getConfiguration().setJdbcUrl(server.jdbcUrl());
        pgnotify.getConfiguration().setUsername(server.username());
        pgnotify.getConfiguration().setPassword(server.password());
        pgnotify.getConfiguration().setTable(schema + ".message_queue");
        pgnotify.getConfiguration().setTopicTable(schema + ".message_topic");
        context.addComponent("pgnotify", pgnotify);
        MockComponent mocks = new MockComponent(context);
        context.addComponent("http", new HttpComponent() {
            @Override
            protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) {
                return new MockEndpoint(uri, mocks);
            }
        });
        context.addComponent("file", new FileComponent() {
            @Override
            protected GenericFileEndpoint<File> buildFileEndpoint(String uri, String remaining,
                    Map<String, Object> parameters) throws Exception {
                return super.buildFileEndpoint(uri, dir.resolve(remaining).toString(), parameters);
            }
        });
        return context;
    }

    private static void awaitBody(CamelContext context, String uri, String body) {
        MockEndpoint endpoint = context.getEndpoint(uri, MockEndpoint.class);
        await().atMost(WAIT).until(() -> endpoint.getReceivedCounter() >= 1);
        assertEquals(1, endpoint.getReceivedCounter(), "delivered once");
        assertEquals(body, new String(endpoint.getReceivedExchanges().get(0).getMessage().getBody(byte[].class),
                StandardCharsets.UTF_8));
    }

    /** Groups that start at the latest message get what is published once they are registered. */
    private static void awaitGroups(String schema, int groups) {
        await().atMost(WAIT).until(() -> ((Number) PgTestServer.get()
                .queryValue("SELECT count(*) FROM " + schema + ".message_topic_groups")).intValue() == groups);
    }

    /** A NOTIFY from another session reaches the listener (sent again until its LISTEN is in place: nothing is kept). */
    private static void awaitNotified(NotifyBuilder notified) {
        await().atMost(WAIT).until(() -> {
            PgTestServer.get().execute("SELECT pg_notify('sample_channel', 'hello')");
            return notified.matches(500, TimeUnit.MILLISECONDS);
        });
    }
}
