package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every statement on a claimed item is fenced by the attempt it was claimed as, a topic batch's split-out of a failed
 * message too: a holder whose lease ran out (the batch claimed again meanwhile) takes nothing out of its new holder's
 * batch, and leaves it; the batch is then delivered whole by its holder, and nothing is retried or dead-lettered twice.
 */
class TopicSplitOutFencingIT extends PgNotifyITSupport {

    private static final String TOPIC = "rv_split_topic";
    private static final String OPTIONS = "mode=topic&topicTable=" + TOPIC
                                          + "&group=g&maxMessagesPerPoll=10&retryDelay=60000";

    private final List<String> received = new CopyOnWriteArrayList<>();
    private final AtomicBoolean failed = new AtomicBoolean();

    @BeforeEach
    void clean() throws Exception {
        TopicDeliveryIT.dropTopic(TOPIC);
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:events?" + OPTIONS).routeId("g").autoStartup(false).process(e -> {
                    String body = e.getMessage().getBody(String.class);
                    received.add(body);
                    if (body.equals("m1") && failed.compareAndSet(false, true)) {
                        // meanwhile the lease ran out and another consumer claimed the batch again
                        server().execute("UPDATE " + TOPIC + "_items SET attempts = attempts + 1,"
                                         + " available_at = now() + interval '1 hour'");
                        throw new IllegalStateException("m1 fails once");
                    }
                });
            }
        };
    }

    @Test
    void aHolderThatLostItsLeaseSplitsNothingOut() throws Exception {
        context.getRouteController().startRoute("g");
        context.getRouteController().stopRoute("g");
        for (String body : List.of("m1", "m2")) {
            template.sendBody("pgnotify:events?mode=topic&topicTable=" + TOPIC, body);
        }
        context.getRouteController().startRoute("g");
        await(Duration.ofSeconds(10)).until(failed::get);
        // the old holder finds its batch claimed again when it tries to split m1 out: it leaves the batch alone
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + TOPIC + "_items WHERE available_at > now() + interval '30 minutes'"))
                .longValue() == 1);
        long items = ((Number) server().queryValue("SELECT count(*) FROM " + TOPIC + "_items")).longValue();
        Object rows = server().queryValue("SELECT string_agg(id || ':' || ids::text || ' attempts ' || attempts, '; ')"
                                          + " FROM " + TOPIC + "_items");
        assertEquals(1L, items, "only the batch, now its new holder's: " + rows);
        // the (simulated) new holder's lease runs out in turn: the batch is delivered whole, from its recorded progress
        server().execute("UPDATE " + TOPIC + "_items SET available_at = now()");
        await(Duration.ofSeconds(10)).until(() -> received.contains("m2") && ((Number) server().queryValue(
                "SELECT count(*) FROM " + TOPIC + "_items")).longValue() == 0);
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TOPIC + "_dead")).longValue(),
                "nothing dead-lettered");
    }
}
