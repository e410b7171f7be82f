package dev.pgnotify.examples;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.pgnotify.camel.test.CapturedLogs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole demo, as the README's command runs it but with a bounded duration and a bounded amount of traffic: it
 * stops on its own, cleanly, and its final status lines show every message delivered (or, for the one poison webhook
 * event, dead-lettered).
 */
class DemoApplicationIT {

    private static final Pattern STATUS = Pattern.compile(
            "status (\\S+)\\s+sent\\s+(\\d+)\\s+delivered\\s+(\\d+)\\s+waiting\\s+(\\d+)\\s+dead\\s+(\\d+)");

    @TempDir
    Path dir;

    @Test
    void demoRunsAllBridgesToACleanStopWithEveryMessageDelivered() throws Exception {
        try (CapturedLogs logs = new CapturedLogs()) {
            DemoRun demo = DemoRun.prepare(dir, String.join(",", DemoConfiguration.ALL_BRIDGES), Map.of(
                    "demo.traffic", "true", "demo.traffic.period", "200", "demo.traffic.count", "10",
                    "demo.webhook.retry-delay", "200", "camel.main.duration-max-seconds", "15"));
            CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
                try {
                    demo.main.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            run.get(90, TimeUnit.SECONDS);

            List<String> lines = logs.lines();
            int finalStatus = lines.indexOf(lines.stream().filter(l -> l.endsWith("final status:")).findFirst()
                    .orElseThrow(() -> new AssertionError("no final status line")));
            Map<String, long[]> status = new java.util.TreeMap<>();
            for (String line : lines.subList(finalStatus + 1, lines.size())) {
                Matcher m = STATUS.matcher(line);
                if (m.find()) {
                    status.put(m.group(1), new long[] { Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                            Long.parseLong(m.group(4)), Long.parseLong(m.group(5)) });
                }
            }
            assertEquals(java.util.Set.of("files", "greetings", "order-events", "webhooks"), status.keySet(),
                    String.join("\n", lines.subList(finalStatus, lines.size())));
            status.forEach((channel, counts) -> {
                String text = channel + " " + java.util.Arrays.toString(counts);
                assertEquals(10, counts[0], "sent: " + text);
                assertEquals(0, counts[2], "waiting: " + text);
                assertEquals(counts[0], counts[1] + counts[3], "delivered or dead-lettered: " + text);
            });
            // the tenth webhook event is the demo's poison: refused every time, it ends in the dead letter
            assertEquals(1, status.get("webhooks")[3]);
            assertTrue(lines.stream().anyMatch(l -> l.contains("moves to the dead-letter table")));
        }
    }
}
