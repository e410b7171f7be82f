package dev.pgnotify.camel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import dev.pgnotify.camel.listen.ListenerConnections;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A 50,000-message stream while the consumer's LISTEN connection is killed 20 times: nothing is lost, because
 * NOTIFY only wakes the consumer and it claims again after every reconnect.
 */
class QueueListenerKillsIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueListenerKillsIT.class);
    private static final String TABLE = "kills_it_queue";
    private static final int MESSAGES = 50_000;
    private static final int PRODUCERS = 4;
    private static final int KILLS = 20;

    private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:stream?table=" + TABLE + "&concurrentConsumers=2")
                        .process(exchange -> received
                                .computeIfAbsent(exchange.getMessage().getBody(String.class), k -> new AtomicInteger())
                                .incrementAndGet());
            }
        };
    }

    @Test
    void noMessageIsLostWhileTheListenerIsKilledTwentyTimes() throws Exception {
        AtomicInteger sent = new AtomicInteger();
        ExecutorService producers = Executors.newFixedThreadPool(PRODUCERS);
        List<Future<?>> sending = IntStream.range(0, PRODUCERS).<Future<?>> mapToObj(p -> producers.submit(() -> {
            for (int i = p; i < MESSAGES; i += PRODUCERS) {
                template.sendBody("pgnotify:stream?table=" + TABLE, "m" + i);
                sent.incrementAndGet();
            }
        })).toList();

        int kills = 0;
        String listenerName = ListenerConnections.LISTENER_APPLICATION_NAME;
        while (kills < KILLS) {
            int killAt = (kills + 1) * MESSAGES / (KILLS + 1);
            await(Duration.ofSeconds(120)).until(() -> sent.get() >= killAt);
            Integer pid = (Integer) await(Duration.ofSeconds(30)).until(
                    () -> server().queryValue("SELECT pid FROM pg_stat_activity WHERE application_name = '"
                                              + listenerName + "'"),
                    java.util.Objects::nonNull);
            assertNotNull(pid);
            server().queryValue("SELECT pg_terminate_backend(" + pid + ")");
            kills++;
        }
        for (Future<?> f : sending) {
            f.get(120, TimeUnit.SECONDS);
        }
        producers.shutdown();

        await(Duration.ofSeconds(120)).until(() -> received.size() == MESSAGES);
        int duplicates = received.values().stream().mapToInt(AtomicInteger::get).sum() - MESSAGES;
        LOG.info("{} messages, {} listener kills: {} received, {} lost, {} delivered twice", MESSAGES, kills,
                received.size(), MESSAGES - received.size(), duplicates);
        assertEquals(KILLS, kills);
        assertEquals(MESSAGES, received.size(), "none lost");
        // the listener only wakes the consumer: its loss must not make anything be delivered twice
        assertEquals(0, duplicates, "delivered twice");
        await(Duration.ofSeconds(10)).until(() -> ((Number) server().queryValue(
                "SELECT count(*) FROM " + TABLE)).longValue() == 0);
    }
}
