package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.console.DevConsole;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * An endpoint's figures (its JMX attributes, the pgnotify dev console) are measured on the caller's thread, each
 * measurement bounded (3 s): a monitoring tool polling them must get an answer, or none ("empty when it cannot be
 * measured"), within that bound, whatever the schema's state, and one caller must not hold up the others.
 */
class EndpointFiguresIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(EndpointFiguresIT.class);
    private static final String TABLE = "figures_it_queue";
    /** The measurement's bound, and a margin. */
    private static final long ANSWER_WITHIN_MILLIS = 4000;

    private final ExecutorService executor = Executors.newCachedThreadPool();
    private Connection otherApplication;

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                // creates the table (its endpoint differs from the monitored one by its options)
                from("pgnotify:figures?table=" + TABLE + "&pollInterval=500").routeId("consumer").to("mock:figures");
            }
        };
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (otherApplication != null) {
            otherApplication.close();
        }
        executor.shutdownNow();
        executor.awaitTermination(30, TimeUnit.SECONDS);
    }

    /**
     * Another application holds the schema lock of the queue (its start creates or migrates the schema, and waits
     * itself, say, behind a long transaction), and a first reading of a monitored endpoint's figures waits for it. A
     * second JMX attribute and the dev console, read meanwhile, must each answer within the measurement's bound. Today
     * the first reading resolves (creates or verifies) the schema while holding the endpoint's monitor and waits for the
     * lock up to statementTimeout (20 s); every other reading (and a producer's or consumer's start on that endpoint)
     * waits for the monitor behind it.
     */
    @Test
    void figuresAnswerWithinTheirBoundWhileAnotherReadingWaitsForTheSchemaLock() throws Exception {
        PgNotifyEndpoint monitored = context.getEndpoint("pgnotify:figures?table=" + TABLE, PgNotifyEndpoint.class);
        otherApplication = server().connect();
        otherApplication.setAutoCommit(false);
        try (Statement statement = otherApplication.createStatement()) {
            statement.execute("SELECT pg_advisory_xact_lock(hashtext('pgnotify schema ' || current_schema() || '."
                              + TABLE + "'))");
        }

        Future<Long> first = executor.submit(monitored::getWaitingMessages);
        await(Duration.ofSeconds(10)).until(() -> first.isDone() || ((Number) server().queryValue(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).longValue() > 0);

        long started = System.nanoTime();
        Future<Long> deadLetters = executor.submit(monitored::getDeadLetters);
        Future<Object> console = executor.submit(() -> {
            PgNotifyDevConsole devConsole = new PgNotifyDevConsole();
            devConsole.setCamelContext(context);
            return devConsole.call(DevConsole.MediaType.TEXT, Map.of());
        });
        within(deadLetters, started, "the JMX attribute DeadLetters, read while WaitingMessages waits");
        within(console, started, "the dev console, read while WaitingMessages waits");
    }

    private static void within(Future<?> reading, long started, String what) throws Exception {
        long left = ANSWER_WITHIN_MILLIS - (System.nanoTime() - started) / 1_000_000;
        try {
            Object answer = reading.get(Math.max(0, left), TimeUnit.MILLISECONDS);
            LOG.info("{} answered after {} ms: {}", what, (System.nanoTime() - started) / 1_000_000, answer);
        } catch (TimeoutException e) {
            fail(what + " gave no answer within " + ANSWER_WITHIN_MILLIS + " ms while another application holds the"
                 + " schema lock");
        }
    }
}
