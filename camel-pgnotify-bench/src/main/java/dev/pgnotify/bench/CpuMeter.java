package dev.pgnotify.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a workload's CPU goes on this machine: this JVM, and the PostgreSQL server's processes when they run here (the
 * embedded server, or any local one). On two cores the sum of the two, per message, is what bounds a throughput; a
 * split measured beside a baseline's says which side a missed ratio comes from.
 * <p>
 * The server's time is read from /proc: every process named {@code postgres}, its own time and its reaped children's
 * (a backend that ended during the window is counted in the postmaster's children's time once reaped). Linux counts
 * both in clock ticks (10 ms): fine for windows of seconds. Elsewhere the server's share reads as unknown.
 */
final class CpuMeter {

    private static final Path PROC = Path.of("/proc");
    /** USER_HZ: the unit of /proc/PID/stat's times, 100 on every Linux this runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private final long jvmStart = Bench.processCpuNanos();
    private final long serverStart = serverCpuNanos();

    /** "CPU per 1,000 messages: this JVM 12 ms, the server 30 ms", from the start of this meter until now. */
    String perThousand(long messages) {
        long jvm = Bench.processCpuNanos() - jvmStart;
        long serverNow = serverCpuNanos();
        if (messages <= 0) {
            return "";
        }
        String server = serverStart < 0 || serverNow < 0 ? "the server unknown (not local)"
                : String.format("the server %.0f ms", (serverNow - serverStart) / 1e6 / messages * 1000);
        return String.format("CPU per 1,000 messages: this JVM %.0f ms, %s", jvm / 1e6 / messages * 1000, server);
    }

    /** The CPU time of the local PostgreSQL processes and their ended children; -1 where /proc does not say. */
    static long serverCpuNanos() {
        if (!Files.isDirectory(PROC)) {
            return -1;
        }
        long ticks = 0;
        boolean any = false;
        try (var processes = Files.list(PROC)) {
            for (Path process : (Iterable<Path>) processes::iterator) {
                String name = process.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                try {
                    String stat = Files.readString(process.resolve("stat"));
                    // pid (comm) state ppid ...: comm may hold spaces, so the fields are counted after its ')'
                    int open = stat.indexOf('(');
                    int close = stat.lastIndexOf(')');
                    if (!"postgres".equals(stat.substring(open + 1, close))) {
                        continue;
                    }
                    String[] fields = stat.substring(close + 2).split(" ");
                    // after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
                    ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]) + Long.parseLong(fields[13])
                             + Long.parseLong(fields[14]);
                    any = true;
                } catch (IOException | RuntimeException e) {
                    // the process ended meanwhile: its parent counts it once reaped
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return any ? ticks * NANOS_PER_TICK : -1;
    }
}
