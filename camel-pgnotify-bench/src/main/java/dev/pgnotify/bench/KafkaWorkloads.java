package dev.pgnotify.bench;

import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.kafka.KafkaTestBroker;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Kafka relay against its baseline, on one real broker (KRaft, in a JVM of its own): a backlog of the queue relayed
 * record by record with the example's settings (acks=all, idempotent producer, each record acknowledged by Kafka
 * before its message is acknowledged in PostgreSQL), and Kafka's own producer sending the same records one at a time,
 * each awaited, with the same settings: the most a one-at-a-time relay can do on this broker.
 */
final class KafkaWorkloads implements AutoCloseable {

    static final String GROUP = "Kafka relay";
    static final String PRODUCER_ALONE = "Kafka producer alone: %,d records one at a time, each awaited (acks=all)";
    static final String RELAY = "pgnotify queue to Kafka: relay a %,d backlog, one record at a time (acks=all)";

    private final Bench bench;
    private final KafkaTestBroker broker;
    private int round;

    KafkaWorkloads(Bench bench) throws Exception {
        this.bench = bench;
        this.broker = KafkaTestBroker.start(Path.of("target", "bench-kafka-" + System.nanoTime()));
        // a fresh broker JVM serves the first thousands of records several times slower (measured: 998 msg/s against
        // 5,869 once warm): warmed up here, so that the first round measures neither side against a cold broker
        producerAlone("bench-warm-up", bench.options.count(20_000));
    }

    void runAll() throws Exception {
        round++;
        int messages = bench.options.count(10_000);
        String topic = "bench-relay-" + round;
        bench.measure(GROUP, String.format(PRODUCER_ALONE, messages),
                "kafka-clients KafkaProducer, send(record).get() in a loop, acks=all, idempotent, linger.ms=0",
                () -> producerAlone(topic + "-plain", messages));
        bench.measure(GROUP, String.format(RELAY, messages),
                "from(pgnotify) with one consumer thread to(kafka) with the example's settings; the queue acknowledges"
                                                          + " each message once Kafka has",
                () -> relay(topic, messages));
    }

    private Run producerAlone(String topic, int messages) throws Exception {
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        config.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        String padding = "x".repeat(90);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            // the connection and the topic's metadata, as the relay's first message also pays for them
            producer.send(new ProducerRecord<>(topic, "warm-up", "warm-up")).get(60, TimeUnit.SECONDS);
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                producer.send(new ProducerRecord<>(topic, "key-" + (i % 100), i + ":0:" + padding))
                        .get(60, TimeUnit.SECONDS);
            }
            return Run.throughputOnly(messages / ((System.nanoTime() - start) / 1e9), messages);
        }
    }

    private Run relay(String topic, int messages) throws Exception {
        bench.sql("TRUNCATE bench_queue",
                "INSERT INTO bench_queue (channel, body_text, headers) SELECT 'bench_relay',"
                                          + " g || ':0:' || repeat('x', 90), jsonb_build_object('key', 'key-' || (g % 100))"
                                          + " FROM generate_series(0, " + (messages - 1) + ") AS g",
                "VACUUM ANALYZE bench_queue");
        Receiver receiver = new Receiver(messages);
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:bench_relay?table=bench_queue&concurrentConsumers=1")
                            .setHeader("kafka.KEY", simple("${header.key}"))
                            .setHeader("pgnotify.message.id", simple("${header.CamelPgNotifyMessageId}", String.class))
                            .to("kafka:" + topic + "?brokers=" + broker.bootstrapServers()
                                + "&requestRequiredAcks=all&enableIdempotence=true&maxInFlightRequest=5"
                                + "&deliveryTimeoutMs=30000&requestTimeoutMs=10000&lingerMs=0&synchronous=true")
                            .process(exchange -> receiver.onMessage(exchange.getMessage().getBody()));
                }
            });
            long start = System.nanoTime();
            camel.start();
            receiver.await(Bench.DELIVERY_TIMEOUT_MILLIS);
            Run run = receiver.run(start, "");
            return new Run(run.throughput(), run.expected(), run.delivered(), run.duplicates(), null, "");
        }
    }

    @Override
    public void close() throws Exception {
        broker.close();
    }
}
