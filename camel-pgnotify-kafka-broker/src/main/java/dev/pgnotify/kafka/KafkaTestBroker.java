package dev.pgnotify.kafka;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real Kafka broker for tests, in KRaft mode (broker and controller in one node), from Maven Central's Kafka
 * artifacts, in a JVM of its own: no Docker, no download at test time. Its classpath was resolved when this module
 * was built and is kept apart from the test's, so the broker's Kafka (4.x) and the client the test uses (camel-kafka's)
 * never meet. It can be killed (kill -9, a crash) and started again on the same ports and data, as a broker restarts.
 * Every wait is bounded.
 */
public final class KafkaTestBroker implements AutoCloseable {

    private static final long START_TIMEOUT_SECONDS = 90;

    private final Path directory;
    private final Path config;
    private final Path log;
    private final int port;
    private Process process;

    private KafkaTestBroker(Path directory, int port, int controllerPort) throws IOException {
        this.directory = directory;
        this.port = port;
        this.config = directory.resolve("server.properties");
        this.log = directory.resolve("broker.log");
        Files.createDirectories(directory);
        Files.writeString(config, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "controller.quorum.voters=1@localhost:" + controllerPort,
                "listeners=PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort,
                "advertised.listeners=PLAINTEXT://localhost:" + port,
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                "log.dirs=" + directory.resolve("data"),
                "num.partitions=1",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                ""));
        Files.writeString(directory.resolve("log4j2.properties"), String.join("\n",
                "status = warn",
                "appender.out.type = Console",
                "appender.out.name = out",
                "appender.out.layout.type = PatternLayout",
                "appender.out.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.out.ref = out",
                ""));
    }

    /** Formats a new broker's storage under {@code directory} and starts it on free ports. */
    public static KafkaTestBroker start(Path directory) throws Exception {
        KafkaTestBroker broker = new KafkaTestBroker(directory, freePort(), freePort());
        byte[] id = new byte[16];
        UUID uuid = UUID.randomUUID();
        for (int i = 0; i < 8; i++) {
            id[i] = (byte) (uuid.getMostSignificantBits() >>> (56 - 8 * i));
            id[8 + i] = (byte) (uuid.getLeastSignificantBits() >>> (56 - 8 * i));
        }
        // an id whose first character is '-' (1 in 64 random ones) would be read by the storage tool as an option
        // ("expected one argument"): the first six bits stay below 62, as Kafka's own random ids avoid a leading '-'
        id[0] &= 0x7F;
        String clusterId = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
        Process format = broker.java("kafka.tools.StorageTool", "format", "-t", clusterId, "-c",
                broker.config.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(broker.log.toFile())).start();
        if (!format.waitFor(START_TIMEOUT_SECONDS, TimeUnit.SECONDS) || format.exitValue() != 0) {
            format.destroyForcibly();
            throw new IllegalStateException("Could not format the Kafka broker's storage; see " + broker.log);
        }
        broker.startAgain();
        return broker;
    }

    /** host:port for bootstrap.servers. */
    public String bootstrapServers() {
        return "localhost:" + port;
    }

    /** Starts the broker (again), on the same ports and data; returns once it serves clients. */
    public synchronized void startAgain() throws Exception {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("the broker is running");
        }
        process = java("kafka.Kafka", config.toString()).redirectErrorStream(true).start();
        CompletableFuture<Void> started = new CompletableFuture<>();
        Process running = process;
        Thread reader = new Thread(() -> copyOutput(running.getInputStream(), started), "kafka-broker-output");
        reader.setDaemon(true);
        reader.start();
        try {
            started.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            kill();
            throw new IllegalStateException("The Kafka broker did not start within " + START_TIMEOUT_SECONDS
                                            + " s; see " + log, e);
        }
        awaitPort();
    }

    /** kill -9: no shutdown, exactly like a crash. */
    public synchronized void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Where the broker's output goes. */
    public Path log() {
        return log;
    }

    @Override
    public synchronized void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private ProcessBuilder java(String mainClass, String... arguments) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-Dlog4j2.configurationFile=" + directory.resolve("log4j2.properties"));
        command.add("-cp");
        command.add(brokerClasspath());
        command.add(mainClass);
        command.addAll(List.of(arguments));
        return new ProcessBuilder(command);
    }

    private void copyOutput(InputStream output, CompletableFuture<Void> started) {
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(output, StandardCharsets.UTF_8));
             PrintWriter copy = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8,
                     StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
            String line;
            while ((line = lines.readLine()) != null) {
                copy.println(line);
                copy.flush();
                if (line.contains("Kafka Server started")) {
                    started.complete(null);
                }
            }
        } catch (IOException e) {
            started.completeExceptionally(e);
        }
        started.completeExceptionally(new IllegalStateException("the Kafka broker ended; see " + log));
    }

    private void awaitPort() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
        while (System.nanoTime() < deadline) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("localhost", port), 1000);
                return;
            } catch (IOException notYet) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
        }
        throw new IllegalStateException("The Kafka broker does not accept connections on port " + port);
    }

    private static String brokerClasspath() {
        try (InputStream in = KafkaTestBroker.class.getResourceAsStream("broker.classpath")) {
            if (in == null) {
                throw new IllegalStateException("broker.classpath is missing: build camel-pgnotify-kafka-broker");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
