package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

/**
 * Table names may contain $ (PostgreSQL allows it in identifiers, and so do the options table and topicTable). The
 * function bodies pgnotify creates are dollar-quoted ($$ ... $$): a name containing $$ must not end them.
 */
class DollarQuotedNamesIT extends PgNotifyITSupport {

    private static final String SCHEMA = "dollar_names_it";
    private static final String QUEUE = SCHEMA + ".odd$$queue";
    private static final String TOPIC = SCHEMA + ".odd$$topic";

    private final List<String> delivered = new CopyOnWriteArrayList<>();

    @BeforeEach
    void cleanSchema() throws Exception {
        server().execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE", "CREATE SCHEMA " + SCHEMA);
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:dollars?table=" + QUEUE).routeId("queue").autoStartup(false)
                        .process(exchange -> delivered.add("queue " + exchange.getMessage().getBody(String.class)));
                from("pgnotify:dollars?mode=topic&topicTable=" + TOPIC + "&group=g").routeId("topic").autoStartup(false)
                        .process(exchange -> delivered.add("topic " + exchange.getMessage().getBody(String.class)));
            }
        };
    }

    /** Today creating the queue's deduplication function fails: its body ends at the $$ in the table's name. */
    @Test
    void aQueueTableWithDoubleDollarInItsNameWorks() throws Exception {
        assertDoesNotThrow(() -> context.getRouteController().startRoute("queue"), "the queue's schema is created");
        template.sendBody("pgnotify:dollars?table=" + QUEUE, "hello");
        await(Duration.ofSeconds(10)).until(() -> delivered.contains("queue hello"));
    }

    /** Today creating the topic's functions fails the same way. */
    @Test
    void aTopicTableWithDoubleDollarInItsNameWorks() throws Exception {
        assertDoesNotThrow(() -> context.getRouteController().startRoute("topic"), "the topic's schema is created");
        template.sendBody("pgnotify:dollars?mode=topic&topicTable=" + TOPIC, "hello");
        await(Duration.ofSeconds(10)).until(() -> delivered.contains("topic hello"));
    }
}
