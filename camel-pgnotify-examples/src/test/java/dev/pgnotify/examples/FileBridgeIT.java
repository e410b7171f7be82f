package dev.pgnotify.examples;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The file bridge, in Java and in YAML: files dropped in the inbox come out of the outbox through PostgreSQL, under
 * their own names, byte for byte.
 */
class FileBridgeIT {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = { "java", "yaml" })
    void filesKeepTheirNameAndBytesAcrossTheQueue(String dsl) throws Exception {
        byte[] text = "Grüße aus PostgreSQL\n".getBytes(StandardCharsets.UTF_8);
        byte[] binary = new byte[64 * 1024];
        new Random(7).nextBytes(binary);
        byte[] large = new byte[20 * 1024 * 1024];
        new Random(11).nextBytes(large);

        try (DemoRun demo = DemoRun.start(dir, "files", Map.of("demo.dsl", dsl))) {
            drop("hello.txt", text);
            drop("image.bin", binary);
            drop("large.dat", large);

            awaitOutbox("hello.txt", text);
            awaitOutbox("image.bin", binary);
            awaitOutbox("large.dat", large);
            assertEquals(0, demo.count("SELECT count(*) FROM message_queue WHERE channel = 'files'"));
        }
    }

    /** Files appear in the inbox whole, as any well-behaved writer makes them appear. */
    private void drop(String name, byte[] content) throws Exception {
        Path staged = Files.createDirectories(dir.resolve("staging")).resolve(name);
        Files.write(staged, content);
        Files.move(staged, Files.createDirectories(dir.resolve("inbox")).resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private void awaitOutbox(String name, byte[] expected) {
        Path out = dir.resolve("outbox").resolve(name);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> Files.exists(out) && Arrays.equals(expected, Files.readAllBytes(out)));
    }
}
