package dev.pgnotify.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark with tiny counts, so that it cannot rot: every workload runs to completion, nothing is lost, and the
 * report and charts are written. No timing is asserted.
 */
class BenchmarkSmokeIT {

    @Test
    void benchmarkRunsEveryWorkloadAndWritesItsReport() throws Exception {
        Path out = Path.of("target/bench-smoke");
        // a report left by an earlier run must not pass for this one's
        for (String file : List.of("report.md", "throughput.png", "latency.png")) {
            Files.deleteIfExists(out.resolve(file));
        }
        System.setProperty("bench.smoke", "true");
        System.setProperty("bench.out", out.toString());

        Benchmark.main(new String[0]);

        String report = Files.readString(out.resolve("report.md"));
        assertTrue(Files.size(out.resolve("throughput.png")) > 0);
        assertTrue(Files.size(out.resolve("latency.png")) > 0);
        assertTrue(report.contains("## Targets") && report.contains("## Machine and server"), report);
        for (String workload : List.of(Baselines.CEILING_TRIGGER_1, Baselines.CLAIM_DELETE.formatted(1),
                PgNotifyWorkloads.PGEVENT_E2E, PgNotifyWorkloads.NOTIFY_E2E, PgNotifyWorkloads.QUEUE_1,
                PgNotifyWorkloads.QUEUE_BATCH, PgNotifyWorkloads.QUEUE_1000)) {
            assertTrue(report.contains("| " + workload + " |"), "the report has " + workload);
        }
        // every end-to-end row reports lost and twice-delivered messages: none here
        report.lines().filter(line -> line.startsWith("| baseline |") || line.startsWith("| notify |")
                                      || line.startsWith("| queue |"))
                .forEach(line -> {
                    String[] cells = line.split("\\|");
                    assertEquals("0", cells[6].trim(), "lost: " + line);
                    assertEquals("0", cells[7].trim(), "twice: " + line);
                });
        assertTrue(report.contains("peak heap"), "the heap workloads ran: " + report);
        assertTrue(report.contains("## Job-queue shape") && report.contains("| 4 | 1,000 |"),
                "the job-queue workload ran, plain table and pgnotify: " + report);
        assertFalse(report.contains("FAILED"), report);
    }
}
