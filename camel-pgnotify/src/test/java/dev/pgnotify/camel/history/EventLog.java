package dev.pgnotify.camel.history;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The events of one JVM, appended to a file of its own, one line per event, each line written through to the file
 * before {@link #append} returns: a JVM killed with SIGKILL leaves every event it recorded. Never the database under
 * test, which the faults crash.
 * <p>
 * A line is {@code <wall-clock micros>\t<TYPE>\t<key>=<value>\t...}. Wall-clock microseconds are comparable across
 * the JVMs of one machine. The time is taken under the file's lock, so that lines are in time order within a file.
 * <p>
 * A plain {@link FileOutputStream}, not a FileChannel: a channel is closed by an interrupt of the writing thread, and
 * the routes under test interrupt their own threads on purpose; the stream's writes are not interruptible.
 */
public final class EventLog implements AutoCloseable {

    public static final String SEND_BEGIN = "SEND_BEGIN";
    public static final String SEND_END = "SEND_END";
    public static final String DELIVERY_START = "DELIVERY_START";
    public static final String DELIVERY_END = "DELIVERY_END";
    public static final String FAULT_BEGIN = "FAULT_BEGIN";
    public static final String FAULT_END = "FAULT_END";
    public static final String JVM_START = "JVM_START";
    public static final String RUN = "RUN";
    /** A consumer JVM's census of its consumer threads (every second): expected, and running their claim loop. */
    public static final String CONSUMERS = "CONSUMERS";

    private final Path file;
    private final OutputStream out;
    private boolean closed;

    public EventLog(Path file) {
        this.file = file;
        try {
            this.out = new FileOutputStream(file.toFile(), true);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open the event file " + file, e);
        }
    }

    /** Now, in microseconds since the epoch, by the wall clock (the one clock every JVM of the machine shares). */
    public static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    }

    /**
     * Appends an event of this type with these key/value pairs (values may be null: written as empty) and returns its
     * time.
     */
    public synchronized long append(String type, Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values come in pairs: " + keysAndValues.length);
        }
        long micros = nowMicros();
        StringBuilder line = new StringBuilder(96).append(micros).append('\t').append(type);
        for (int i = 0; i < keysAndValues.length; i += 2) {
            line.append('\t').append(keysAndValues[i]).append('=').append(clean(keysAndValues[i + 1]));
        }
        line.append('\n');
        if (closed) {
            // a late event (a delivery ending while its JVM stops): lost with a note rather than a failure
            System.err.println("event after close of " + file + ": " + line);
            return micros;
        }
        try {
            out.write(line.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot append to the event file " + file, e);
        }
        return micros;
    }

    /** Tabs and line ends would break the line format: values keep everything else. */
    private static String clean(Object value) {
        return value == null ? "" : value.toString().replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }

    public Path file() {
        return file;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                out.close();
            } catch (IOException e) {
                // nothing buffered: every line was written through
            }
        }
    }
}
