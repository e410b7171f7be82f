package dev.pgnotify.examples;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;

import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP in, over real HTTP: POST /channels/{channel}/messages publishes, answers 202 with the id; bad requests get
 * 400, a body too large for NOTIFY 413.
 */
class HttpInIT {

    @TempDir
    Path dir;

    private DemoRun demo;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void startDemo() throws Exception {
        demo = DemoRun.start(dir, "http-in", Map.of());
    }

    @AfterEach
    void stopDemo() {
        demo.close();
    }

    @Test
    void jsonIsQueuedAndAnsweredWith202AndTheMessageId() throws Exception {
        HttpResponse<String> response = post("/channels/orders/messages", "application/json", "{\"order\": 42}");

        assertEquals(202, response.statusCode(), response.body());
        JsonObject accepted = (JsonObject) Jsoner.deserialize(response.body());
        long id = accepted.getLong("id");
        assertEquals("orders", accepted.getString("channel"));
        try (Connection connection = demo.dataSource().getConnection();
             PreparedStatement row = connection.prepareStatement(
                     "SELECT channel, body_json ->> 'order', headers FROM message_queue WHERE id = ?")) {
            row.setLong(1, id);
            try (ResultSet rs = row.executeQuery()) {
                assertTrue(rs.next(), "the message is in the queue");
                assertEquals("orders", rs.getString(1));
                assertEquals("42", rs.getString(2), "stored as jsonb");
                String headers = rs.getString(3);
                assertFalse(headers.contains("Host") || headers.contains("User-Agent"),
                        "the request's own headers stay behind: " + headers);
            }
        }
    }

    @Test
    void textGoesToAMixedCaseChannelAsWritten() throws Exception {
        HttpResponse<String> response = post("/channels/Billing.EU/messages", "text/plain", "plain text");
        assertEquals(202, response.statusCode(), response.body());
        assertEquals(1, demo.count("SELECT count(*) FROM message_queue WHERE channel = 'Billing.EU'"
                                   + " AND body_text = 'plain text'"));
    }

    @Test
    void invalidChannelGets400WithTheReason() throws Exception {
        HttpResponse<String> quote = post("/channels/bad%22name/messages", "text/plain", "x");
        assertEquals(400, quote.statusCode());
        assertTrue(quote.body().contains("may only contain"), quote.body());

        HttpResponse<String> tooLong = post("/channels/" + "c".repeat(64) + "/messages", "text/plain", "x");
        assertEquals(400, tooLong.statusCode());
        assertTrue(tooLong.body().contains("at most 63 bytes"), tooLong.body());

        HttpResponse<String> injection = post("/channels/orders%3Ftable%3Dother/messages", "text/plain", "x");
        assertEquals(400, injection.statusCode(), "no request can add endpoint options: " + injection.body());
    }

    @Test
    void bodyTooLargeForNotifyGets413() throws Exception {
        HttpResponse<String> large = post("/channels/signals/messages?mode=notify", "text/plain", "x".repeat(9000));
        assertEquals(413, large.statusCode());
        assertTrue(large.body().contains("9000 bytes") && large.body().contains("7999"), large.body());

        HttpResponse<String> small = post("/channels/signals/messages?mode=notify", "text/plain", "ping");
        assertEquals(202, small.statusCode(), small.body());
        assertTrue(small.body().contains("\"mode\":\"notify\""), small.body());
    }

    @Test
    void unknownModeGets400() throws Exception {
        HttpResponse<String> response = post("/channels/orders/messages?mode=fanout", "text/plain", "x");
        assertEquals(400, response.statusCode());
        assertTrue(response.body().contains("mode must be queue or notify"), response.body());
    }

    private HttpResponse<String> post(String path, String contentType, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + demo.port + path))
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
