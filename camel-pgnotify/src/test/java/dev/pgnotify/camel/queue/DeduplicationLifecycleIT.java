package dev.pgnotify.camel.queue;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.queue.DeduplicationHistory.Kind;
import dev.pgnotify.camel.queue.DeduplicationHistory.Step;
import dev.pgnotify.camel.test.PgTestServer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;

import static dev.pgnotify.camel.queue.DeduplicationHistory.CHANNEL;
import static dev.pgnotify.camel.queue.DeduplicationHistory.IDS;
import static dev.pgnotify.camel.queue.DeduplicationHistory.MAX_ATTEMPTS;
import static dev.pgnotify.camel.queue.DeduplicationHistory.TABLE;
import static dev.pgnotify.camel.queue.DeduplicationHistory.WINDOWS;

/**
 * The deduplication id's lifecycle ({@link DeduplicationSchema}) over generated histories, against the server and the
 * real producer and consumer: sends through the endpoint with windows of 0, a minute and forever; two transactions
 * sending over SQL that commit or roll back later, while the endpoint or the other sends the ids they are taking (the
 * loser of such a race stays open); deliveries that succeed,
 * fail and are retried, or fail for good (dead-lettered); the consumers' sweep that forgets ids; the clock moved 40 s on
 * (every window end moved back). The rules, checked after every step against a model:
 * <ul>
 * <li>D1 (taken): an id is taken from the commit of the send that took it until its message completes (acknowledged
 * or dead-lettered), through every retry; a channel's queue holds at most one message with it;</li>
 * <li>D2 (window): once its message completed, the id stays taken for the window of the send that took it (0: free at
 * once, forever: never free again), then it is free;</li>
 * <li>D3 (free): a send of a free id is enqueued and returns its message id; a send of a taken one is refused, says
 * {@code Duplicate} and returns none;</li>
 * <li>D4 (one arbiter): a send of an id a transaction is taking waits for that transaction; refused once it commits,
 * enqueued once it rolls back;</li>
 * <li>D5 (sweep): the sweep forgets exactly the ids whose window is over and that no transaction is taking again;
 * never a taken id, nor one in its window;</li>
 * <li>D6 (nothing held): a producer refused an id holds nothing, whether the id was taken or it lost a race for it:
 * while its transaction is open, other producers are answered at once and messages are acknowledged and dead-lettered
 * (earlier releases' functions locked the id's row; with them this test fails, a send of that id or the
 * acknowledgement of its message waiting for the transaction).</li>
 * </ul>
 */
class DeduplicationLifecycleIT {

    private static final DeliveryGates GATES = new DeliveryGates(MAX_ATTEMPTS);
    private static CamelContext camel;
    private static ProducerTemplate template;
    private static ExecutorService waitingSends;
    private static QueueSql sql;

    @BeforeContainer
    static void start() throws Exception {
        PgTestServer server = PgTestServer.get();
        server.execute("DROP TABLE IF EXISTS " + TABLE + ", " + TABLE + "_dead, " + TABLE + "_dedup CASCADE");
        camel = new DefaultCamelContext();
        PgNotifyComponent component = new PgNotifyComponent();
        component.getConfiguration().setJdbcUrl(server.jdbcUrl());
        component.getConfiguration().setUsername(server.username());
        component.getConfiguration().setPassword(server.password());
        camel.addComponent("pgnotify", component);
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                // failures are the history's: not logged as errors
                errorHandler(noErrorHandler());
                // a thread for each message that can be in flight (one an id), one claim a message
                from("pgnotify:" + CHANNEL + "?table=" + TABLE + "&concurrentConsumers=" + (IDS.length + 1)
                     + "&maxMessagesPerPoll=1&maxAttempts=" + MAX_ATTEMPTS + "&retryDelay=20&pollInterval=200")
                        .routeId("dedup-lifecycle").process(GATES::deliver);
            }
        });
        camel.start();
        template = camel.createProducerTemplate();
        // the endpoint's send and one transaction's that wait for a transaction at once
        AtomicInteger threads = new AtomicInteger();
        waitingSends = Executors.newFixedThreadPool(2,
                r -> new Thread(r, "dedup-lifecycle-waiting-send-" + threads.incrementAndGet()));
        sql = new QueueSql(QueueTable.of(TABLE, null).inSchema("public"));
    }

    @AfterContainer
    static void stop() {
        GATES.release();
        if (waitingSends != null) {
            waitingSends.shutdownNow();
        }
        if (camel != null) {
            camel.stop();
        }
    }

    @Property(tries = 100)
    void anIdIsTakenFromItsSendToTheEndOfItsWindowAndFreeOtherwise(@ForAll("histories") List<Step> steps)
            throws Exception {
        DeduplicationHistory history = new DeduplicationHistory(template, GATES, sql, waitingSends);
        Throwable failure = null;
        try {
            for (Step step : steps) {
                history.apply(step);
                history.check();
            }
        } catch (Throwable e) {
            failure = e;
            throw e;
        } finally {
            try {
                history.close();
            } catch (Exception | AssertionError e) {
                if (failure == null) {
                    throw e;
                }
                failure.addSuppressed(e);
            }
        }
    }

    @Provide
    Arbitrary<List<Step>> histories() {
        Arbitrary<Kind> kinds = Arbitraries.frequency(Tuple.of(5, Kind.SEND), Tuple.of(5, Kind.TX_SEND),
                Tuple.of(3, Kind.TX_COMMIT), Tuple.of(1, Kind.TX_ROLLBACK), Tuple.of(6, Kind.ACK),
                Tuple.of(2, Kind.FAIL), Tuple.of(2, Kind.DEAD), Tuple.of(3, Kind.TIME), Tuple.of(2, Kind.SWEEP));
        return Combinators.combine(kinds, Arbitraries.integers().between(0, IDS.length - 1),
                        Arbitraries.integers().between(0, WINDOWS.length - 1), Arbitraries.integers().between(0, 1))
                .as(Step::new).list().ofMinSize(4).ofMaxSize(40);
    }
}
