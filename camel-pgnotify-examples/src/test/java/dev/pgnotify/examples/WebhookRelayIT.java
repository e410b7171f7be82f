package dev.pgnotify.examples;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The webhook relay, in Java and in YAML, against a real HTTP receiver on a loopback port that refuses each event
 * twice before accepting it, and always refuses a poison event.
 */
class WebhookRelayIT {

    private static final int MAX_ATTEMPTS = 4;

    @TempDir
    Path dir;

    private HttpServer receiver;
    private final Map<String, AtomicInteger> requestsPerMessage = new ConcurrentHashMap<>();
    private final List<String> accepted = new CopyOnWriteArrayList<>();
    private final List<Long> acceptedAt = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startReceiver() throws IOException {
        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/hook", this::receive);
        receiver.start();
    }

    @AfterEach
    void stopReceiver() {
        receiver.stop(0);
    }

    private void receive(HttpExchange request) throws IOException {
        String body;
        try (InputStream in = request.getRequestBody()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String messageId = request.getRequestHeaders().getFirst("X-Message-Id");
        int attempt = requestsPerMessage.computeIfAbsent(messageId, id -> new AtomicInteger()).incrementAndGet();
        int status = body.contains("poison") || attempt <= 2 ? 500 : 200;
        if (status == 200) {
            accepted.add(body);
            acceptedAt.add(System.nanoTime());
        }
        request.sendResponseHeaders(status, -1);
        request.close();
    }

    @ParameterizedTest
    @ValueSource(strings = { "java", "yaml" })
    void failingReceiverIsRetriedByTheQueueThenTheLastFailureIsDeadLettered(String dsl) throws Exception {
        String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
        try (DemoRun demo = DemoRun.start(dir, "webhooks", Map.of("demo.dsl", dsl, "demo.webhook.url", url,
                "demo.webhook.max-attempts", Integer.toString(MAX_ATTEMPTS), "demo.webhook.retry-delay", "100"))) {
            demo.template().sendBody("pgnotify:webhooks", "{\"event\": \"poison\"}");
            List<String> events = IntStream.range(0, 5).mapToObj(i -> "{\"event\": \"tick\", \"n\": " + i + "}").toList();
            events.forEach(event -> demo.template().sendBody("pgnotify:webhooks", event));

            Awaitility.await().atMost(Duration.ofSeconds(60))
                    .until(() -> accepted.size() == events.size()
                                 && demo.count("SELECT count(*) FROM message_queue_dead WHERE channel = 'webhooks'") == 1);

            assertEquals(events.size(), accepted.stream().distinct().count(), "every event accepted once");
            // JSON bodies travel as jsonb: the same values, in PostgreSQL's key order
            IntStream.range(0, events.size()).forEach(n -> assertTrue(
                    accepted.stream().anyMatch(body -> body.contains("\"n\": " + n + ",") || body.contains("\"n\": " + n + "}")),
                    "event " + n + " reached the receiver: " + accepted));
            requestsPerMessage.forEach((id, requests) -> assertTrue(requests.get() == 3 || requests.get() == MAX_ATTEMPTS,
                    "message " + id + " was posted " + requests + " times"));
            assertEquals(0, demo.count("SELECT count(*) FROM message_queue WHERE channel = 'webhooks'"),
                    "nothing left behind");
            try (Connection connection = demo.dataSource().getConnection(); Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery("SELECT body_json ->> 'event', attempts, last_error"
                                                       + " FROM message_queue_dead WHERE channel = 'webhooks'")) {
                rs.next();
                assertEquals("poison", rs.getString(1));
                assertEquals(MAX_ATTEMPTS, rs.getInt(2));
                assertTrue(rs.getString(3).contains("statusCode: 500"), rs.getString(3));
            }
        }
    }
}
