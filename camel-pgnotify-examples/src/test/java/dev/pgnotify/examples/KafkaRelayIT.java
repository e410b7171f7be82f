package dev.pgnotify.examples;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import dev.pgnotify.kafka.KafkaTestBroker;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kafka relay against a real broker (KRaft, from Maven Central's Kafka artifacts, in a JVM of its own): 10,000
 * messages relayed while the broker is killed and started again in the middle; every message reaches the topic, in
 * each key's order, duplicates counted. Then the YAML route, on a smaller stream.
 */
class KafkaRelayIT {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaRelayIT.class);
    private static final int MESSAGES = 10_000;
    private static final int KEYS = 100;

    private static KafkaTestBroker broker;

    @TempDir
    Path dir;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaTestBroker.start(Path.of("target", "kafka-relay-it-" + System.nanoTime()));
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void everyMessageReachesKafkaInKeyOrderThroughABrokerCrash() throws Exception {
        String topic = "relay-java";
        try (DemoRun demo = DemoRun.start(dir, "kafka", relayProperties(topic, "java"))) {
            long started = System.nanoTime();
            publish(demo, topic, MESSAGES);
            // kill -9 the broker once a fifth is through, start it again
            Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(20))
                    .until(() -> waiting(demo, topic) <= MESSAGES * 4 / 5);
            long relayedBeforeCrash = MESSAGES - waiting(demo, topic);
            double rate = relayedBeforeCrash / ((System.nanoTime() - started) / 1e9);
            broker.kill();
            long killedAt = System.nanoTime();
            broker.startAgain();
            LOG.info("Broker killed after {} messages relayed ({} msg/s so far) and back after {} ms",
                    relayedBeforeCrash, Math.round(rate), (System.nanoTime() - killedAt) / 1_000_000);

            Awaitility.await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(100))
                    .until(() -> waiting(demo, topic) == 0);
            LOG.info("All {} messages relayed in {} ms", MESSAGES, (System.nanoTime() - started) / 1_000_000);
            assertEquals(0, demo.count("SELECT count(*) FROM message_queue_dead WHERE channel = '" + topic + "'"));
        }
        List<ConsumerRecord<String, String>> records = readTopic(topic, MESSAGES);
        Relayed relayed = Relayed.of(records);
        LOG.info("Kafka holds {} records for {} messages: {} duplicates", records.size(), relayed.distinctIds(),
                records.size() - relayed.distinctIds());
        assertEquals(MESSAGES, relayed.distinctIds(), "every message is in Kafka");
        assertTrue(relayed.keysInOrder(), "each key's messages in the channel's order: " + relayed.firstDisorder());
        // a duplicate only comes from a send whose acknowledgement was lost with the broker, sent again
        assertTrue(records.size() - relayed.distinctIds() <= 100,
                (records.size() - relayed.distinctIds()) + " duplicates");
    }

    @Test
    void theYamlRouteRelaysToo() throws Exception {
        String topic = "relay-yaml";
        int messages = 500;
        try (DemoRun demo = DemoRun.start(dir, "kafka", relayProperties(topic, "yaml"))) {
            publish(demo, topic, messages);
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                    .until(() -> waiting(demo, topic) == 0);
        }
        Relayed relayed = Relayed.of(readTopic(topic, messages));
        assertEquals(messages, relayed.distinctIds());
        assertTrue(relayed.keysInOrder(), relayed.firstDisorder());
    }

    private static Map<String, String> relayProperties(String topic, String dsl) {
        return Map.of("demo.kafka.brokers", broker.bootstrapServers(), "demo.kafka.topic", topic,
                "demo.kafka.channel", topic, "demo.dsl", dsl);
    }

    /** As another application would: plain SQL, one statement; each message has a key and its place in the stream. */
    private static void publish(DemoRun demo, String channel, int messages) throws Exception {
        try (Connection connection = demo.dataSource().getConnection();
             Statement statement = connection.createStatement()) {
            statement.execute("INSERT INTO message_queue (channel, body_json, headers)"
                              + " SELECT '" + channel + "', jsonb_build_object('seq', g),"
                              + " jsonb_build_object('key', 'key-' || (g % " + KEYS + "))"
                              + " FROM generate_series(1, " + messages + ") g ORDER BY g");
        }
    }

    private static long waiting(DemoRun demo, String channel) throws Exception {
        return demo.count("SELECT count(*) FROM message_queue WHERE channel = '" + channel + "'");
    }

    private static List<ConsumerRecord<String, String>> readTopic(String topic, int atLeast) {
        Properties config = new Properties();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, "check-" + topic);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long quietSince = System.nanoTime();
            // until every message is read and nothing more came for two seconds (the duplicates), or the deadline
            while (System.nanoTime() < deadline
                   && (records.size() < atLeast || System.nanoTime() - quietSince < Duration.ofSeconds(2).toNanos())) {
                int before = records.size();
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                if (records.size() > before) {
                    quietSince = System.nanoTime();
                }
            }
        }
        return records;
    }

    /** What reached the topic: pgnotify ids, and each key's sequence numbers in topic order. */
    private record Relayed(Set<Long> ids, Map<String, List<Integer>> sequencesByKey) {

        static Relayed of(List<ConsumerRecord<String, String>> records) {
            Set<Long> ids = new HashSet<>();
            Map<String, List<Integer>> byKey = new HashMap<>();
            for (ConsumerRecord<String, String> record : records) {
                Header id = record.headers().lastHeader("pgnotify.message.id");
                ids.add(Long.parseLong(new String(id.value(), StandardCharsets.UTF_8)));
                int seq = Integer.parseInt(record.value().replaceAll("\\D+", ""));
                byKey.computeIfAbsent(record.key(), k -> new ArrayList<>()).add(seq);
            }
            return new Relayed(ids, byKey);
        }

        int distinctIds() {
            return ids.size();
        }

        /** Each key's first occurrences come in increasing order (a duplicate may repeat an earlier one). */
        boolean keysInOrder() {
            return firstDisorder() == null;
        }

        String firstDisorder() {
            for (Map.Entry<String, List<Integer>> key : sequencesByKey.entrySet()) {
                Set<Integer> seen = new HashSet<>();
                int last = 0;
                for (int seq : key.getValue()) {
                    if (seen.add(seq)) {
                        if (seq < last) {
                            return key.getKey() + ": " + seq + " after " + last;
                        }
                        last = seq;
                    }
                }
            }
            return null;
        }
    }
}
