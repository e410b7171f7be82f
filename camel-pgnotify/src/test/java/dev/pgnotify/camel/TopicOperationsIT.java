package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * mode=topic: figures per group (the lag, dead letters) and a group's dead letter delivered again to that group only.
 */
class TopicOperationsIT extends PgNotifyITSupport {

    private static final String TABLE = "topops_it";
    private static final String TOPIC = "pgnotify:topops?mode=topic&topicTable=" + TABLE;

    private final AtomicBoolean billingCured = new AtomicBoolean();

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        server().execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_0, " + TABLE + "_1, " + TABLE + "_2, "
                         + TABLE + "_3, " + TABLE + "_state, " + TABLE + "_groups, " + TABLE + "_cuts, " + TABLE
                         + "_items, " + TABLE + "_dead CASCADE");
        return new RouteBuilder() {
            @Override
            public void configure() {
                errorHandler(noErrorHandler());
                from(TOPIC + "&group=billing&maxAttempts=1").routeId("billing").process(exchange -> {
                    if (!billingCured.get()) {
                        throw new IllegalStateException("billing is down");
                    }
                }).to("mock:billing");
                from(TOPIC + "&group=audit").routeId("audit").to("mock:audit");
            }
        };
    }

    @Test
    void figuresArePerGroupAndADeadLetterGoesBackToItsGroupOnly() throws Exception {
        MockEndpoint audit = getMockEndpoint("mock:audit");
        audit.expectedBodiesReceived("invoice 7");
        template.sendBody(TOPIC, "invoice 7");
        audit.setResultWaitTime(10_000);
        audit.assertIsSatisfied();
        await(Duration.ofSeconds(10)).until(() -> count("SELECT count(*) FROM " + TABLE + "_dead") == 1);

        PgNotifyEndpoint producerSide = context.getEndpoint(TOPIC, PgNotifyEndpoint.class);
        await(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<PgNotifyStatistics> groups = producerSide.statistics();
            assertEquals(List.of("audit", "billing"), groups.stream().map(PgNotifyStatistics::group).toList());
            assertEquals(List.of(0L, 1L), groups.stream().map(PgNotifyStatistics::deadLetters).toList());
            assertEquals(List.of(0L, 0L), groups.stream().map(PgNotifyStatistics::waiting).toList(),
                    "both groups are through the log");
        });

        billingCured.set(true);
        MockEndpoint billing = getMockEndpoint("mock:billing");
        billing.expectedBodiesReceived("invoice 7");
        audit.reset();
        audit.expectedMessageCount(0);
        assertEquals(1, template.requestBodyAndHeaders(TOPIC, null, java.util.Map.of(
                PgNotifyConstants.OPERATION, PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS,
                PgNotifyConstants.GROUP, "billing"), Integer.class));
        billing.setResultWaitTime(10_000);
        billing.assertIsSatisfied();
        audit.assertIsSatisfied();
        assertEquals(0L, count("SELECT count(*) FROM " + TABLE + "_dead"));
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
