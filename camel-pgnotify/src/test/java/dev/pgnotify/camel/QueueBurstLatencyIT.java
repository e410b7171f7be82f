package dev.pgnotify.camel;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * With several consumer threads, a claim whose snapshot is older than another's must not move the frontier past rows
 * it could not see (they would wait for the next sweep although every thread is idle and was woken): the frontier only
 * passes what was settled when the claim began. Plain INSERTs from SQL in bursts (the table's trigger wakes the
 * consumers), pollInterval 5 s: no delivery later than 2 s after its commit.
 */
class QueueBurstLatencyIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueBurstLatencyIT.class);
    private static final String TABLE = "rv_latency_queue";

    private final Map<String, Long> received = new ConcurrentHashMap<>();
    private final Map<String, Long> committed = new ConcurrentHashMap<>();

    @BeforeEach
    void cleanTable() throws Exception {
        dropQueue(TABLE);
        template.requestBodyAndHeader("pgnotify:c?table=" + TABLE, null, PgNotifyConstants.OPERATION,
                PgNotifyConstants.OPERATION_STATISTICS);
    }

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:c?table=" + TABLE + "&pollInterval=5000&concurrentConsumers=4&maxMessagesPerPoll=2")
                        .process(e -> received.put(e.getMessage().getBody(String.class), System.nanoTime()));
            }
        };
    }

    @Test
    void freshMessagesAreClaimedByTheClaimsTheyWakeNotByTheSweep() throws Exception {
        int producers = 4;
        int rounds = 150;
        ExecutorService pool = Executors.newFixedThreadPool(producers);
        List<Future<?>> done = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int producer = p;
            done.add(pool.submit(() -> {
                try (Connection connection = server().connect();
                     PreparedStatement insert = connection.prepareStatement("INSERT INTO " + TABLE
                                                                            + " (channel, body_text) VALUES ('c', ?)")) {
                    for (int round = 0; round < rounds; round++) {
                        int burst = 1 + (round * 7 + producer) % 6;
                        connection.setAutoCommit(false);
                        List<String> bodies = new ArrayList<>();
                        for (int i = 0; i < burst; i++) {
                            String body = producer + "-" + round + "-" + i;
                            insert.setString(1, body);
                            insert.executeUpdate();
                            bodies.add(body);
                        }
                        connection.commit();
                        long at = System.nanoTime();
                        bodies.forEach(body -> committed.put(body, at));
                        Thread.sleep(10 + (round * 13 + producer * 5) % 30);
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        await(Duration.ofSeconds(30)).until(() -> received.size() == committed.size());
        List<String> late = new ArrayList<>();
        long worst = 0;
        for (Map.Entry<String, Long> message : committed.entrySet()) {
            long millis = (received.get(message.getKey()) - message.getValue()) / 1_000_000;
            worst = Math.max(worst, millis);
            if (millis > 2000) {
                late.add(message.getKey() + "=" + millis + "ms");
            }
        }
        LOG.info("{} messages; worst latency {} ms; {} later than 2 s: {}", committed.size(), worst, late.size(),
                late);
        assertEquals(List.of(), late, "messages that waited for the sweep");
    }
}
