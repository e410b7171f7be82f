package dev.pgnotify.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import dev.pgnotify.camel.test.PgTestServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heap use, measured where it cannot hide: a consumer in a JVM whose heap is capped drains a 1,000,000-message
 * backlog, and a producer plus consumer pass one 50 MB message through the queue under the smallest cap that works.
 */
final class MemoryWorkloads {

    private static final Logger LOG = LoggerFactory.getLogger(MemoryWorkloads.class);
    static final int DRAIN_HEAP_MB = 64;
    static final int[] LARGE_HEAP_MB = { 100, 150, 200, 300 };

    private final Bench bench;

    MemoryWorkloads(Bench bench) {
        this.bench = bench;
    }

    List<String[]> run() throws Exception {
        List<String[]> facts = new ArrayList<>();
        int backlog = bench.options.smoke() ? 20_000 : 1_000_000;
        bench.sql("TRUNCATE bench_queue", "INSERT INTO bench_queue (channel, body_text) SELECT 'bench_heap',"
                                          + " repeat('x', 100) FROM generate_series(1, " + backlog + ")",
                "VACUUM ANALYZE bench_queue");
        long started = System.nanoTime();
        String[] drained = probe(DRAIN_HEAP_MB, "drain", "bench_queue", "bench_heap", Integer.toString(backlog));
        double seconds = (System.nanoTime() - started) / 1e9;
        facts.add(new String[] {
                String.format("Draining a %,d-message backlog (100-byte bodies, %,d MB of rows) in a JVM with -Xmx%dm",
                        backlog, bench.count("SELECT pg_total_relation_size('bench_queue')") / 1_000_000, DRAIN_HEAP_MB),
                drained[0].equals("ok")
                        ? String.format("completed in %.0f s (JVM start included); peak heap %s MB", seconds, mb(drained[1]))
                        : "FAILED: " + drained[1] });

        int size = bench.options.smoke() ? 5 * 1024 * 1024 : 50 * 1024 * 1024;
        String answer = "FAILED at every heap size tried " + Arrays.toString(LARGE_HEAP_MB) + " MB";
        for (int heap : LARGE_HEAP_MB) {
            bench.sql("TRUNCATE bench_queue");
            String[] large = probe(heap, "large", "bench_queue", Integer.toString(size));
            if (large[0].equals("ok")) {
                answer = String.format("passed with -Xmx%dm (%.1f times the message); peak heap %s MB", heap,
                        heap * 1024.0 * 1024.0 / size, mb(large[1]));
                break;
            }
        }
        facts.add(new String[] { String.format("One %d MB binary message sent and received (SHA-256 checked), smallest heap",
                size / 1024 / 1024), answer });
        bench.sql("TRUNCATE bench_queue");
        return facts;
    }

    /** Runs {@link HeapProbe} with that heap; returns {"ok", peak bytes} or {"failed", why}. */
    private String[] probe(int heapMb, String... arguments) throws Exception {
        PgTestServer server = bench.server;
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heapMb + "m", "-XX:+ExitOnOutOfMemoryError",
                "-D" + PgTestServer.JDBC_URL_PROPERTY + "=" + server.jdbcUrl()));
        if (server.username() != null) {
            command.add("-D" + PgTestServer.USERNAME_PROPERTY + "=" + server.username());
        }
        if (server.password() != null) {
            command.add("-D" + PgTestServer.PASSWORD_PROPERTY + "=" + server.password());
        }
        command.addAll(List.of("-Dlog4j2.level=WARN", "-cp", classpath(), HeapProbe.class.getName()));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String result = null;
        StringBuilder tail = new StringBuilder();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("RESULT ")) {
                    result = line;
                } else if (line.contains("OutOfMemoryError") || line.contains("Exception")) {
                    tail.append(line).append(' ');
                }
            }
        }
        boolean finished = process.waitFor(10, TimeUnit.MINUTES);
        LOG.info("heap probe {} with -Xmx{}m: {}", Arrays.toString(arguments), heapMb, result != null ? result : tail);
        if (finished && process.exitValue() == 0 && result != null && result.startsWith("RESULT ok ")) {
            return new String[] { "ok", result.substring("RESULT ok ".length()) };
        }
        return new String[] { "failed", tail.length() > 0 ? tail.toString().trim() : "exit " + process.exitValue() };
    }

    /** The classpath of this program, also under mvn exec:java (whose class loader holds it). */
    private static String classpath() {
        if (Thread.currentThread().getContextClassLoader() instanceof URLClassLoader loader && loader.getURLs().length > 0) {
            return Arrays.stream(loader.getURLs()).map(MemoryWorkloads::path).collect(Collectors.joining(File.pathSeparator));
        }
        return System.getProperty("java.class.path");
    }

    private static String path(URL url) {
        try {
            return new File(url.toURI()).getPath();
        } catch (Exception e) {
            return url.getPath();
        }
    }

    private static String mb(String bytes) {
        return String.format("%.0f", Long.parseLong(bytes.trim()) / 1024.0 / 1024.0);
    }
}
