package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.pgnotify.camel.test.CapturedLogs;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A topic batch whose first message (at its progress) the log no longer holds, while later ones are still there (a
 * batch that straddles two slots, the older one emptied after maxRetention): the emptied message is skipped as expired
 * and the rest of the batch is delivered. (An earlier version returned the batch's ids only on a row with the first
 * message, and every claim that took the batch failed.)
 */
class TopicExpiredBatchHeadIT extends PgNotifyITSupport {

    private static final String TOPIC = "rv_head_topic";
    private static final String OPTIONS = "mode=topic&topicTable=" + TOPIC + "&group=g&maxMessagesPerPoll=10";

    private final List<String> received = new CopyOnWriteArrayList<>();

    @BeforeEach
    void clean() throws Exception {
        TopicDeliveryIT.dropTopic(TOPIC);
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:events?" + OPTIONS).routeId("g").autoStartup(false)
                        .process(e -> received.add(e.getMessage().getBody(String.class)));
            }
        };
    }

    @Test
    void theRestOfABatchWhoseFirstMessageExpiredIsDelivered() throws Exception {
        // registers the group (from now on), then stays away
        context.getRouteController().startRoute("g");
        context.getRouteController().stopRoute("g");
        for (String body : List.of("m1", "m2", "m3")) {
            template.sendBody("pgnotify:events?mode=topic&topicTable=" + TOPIC, body);
        }
        // the group's cut makes one item [m1, m2, m3] (as a consumer's claim would)
        server().execute("SELECT * FROM " + TOPIC + "_cut('events', 'g', 10, 200)");
        assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM " + TOPIC + "_items")).longValue());
        // m1's slot is emptied (maxRetention); m2, m3 are in the next slot and still there
        server().execute("DELETE FROM " + TOPIC + " WHERE id = (SELECT min(id) FROM " + TOPIC + ")");

        try (CapturedLogs logs = new CapturedLogs()) {
            context.getRouteController().startRoute("g");
            try {
                Awaitility.await().atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(50))
                        .until(() -> received.size() >= 2);
            } catch (ConditionTimeoutException e) {
                // not delivered in time: the assertions below say what happened instead
            }
            String claimFailure = logs.lines().stream().filter(line -> line.contains("Cannot claim messages"))
                    .findFirst().orElse(null);
            boolean claimFailed = claimFailure != null;
            Object attempts = server().queryValue("SELECT max(attempts) FROM " + TOPIC + "_items");
            assertFalse(claimFailed, "a claim failed on the client after committing (attempts now " + attempts
                                     + "); received " + received);
            assertEquals(List.of("m2", "m3"), received, "m1 skipped as expired, the rest delivered; attempts "
                                                        + attempts);
        }
    }
}
