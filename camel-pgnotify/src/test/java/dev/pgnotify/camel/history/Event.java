package dev.pgnotify.camel.history;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One line of an {@link EventLog} file, read back: its time, type and fields, and where it came from (file and line),
 * so that a violation can quote the very lines it is about.
 */
public record Event(long micros, String type, Map<String, String> fields, String source, int line, String raw) {

    public String get(String key) {
        String value = fields.get(key);
        return value == null || value.isEmpty() ? null : value;
    }

    public long getLong(String key, long orElse) {
        String value = get(key);
        return value == null ? orElse : Long.parseLong(value);
    }

    public int getInt(String key, int orElse) {
        String value = get(key);
        return value == null ? orElse : Integer.parseInt(value);
    }

    /** file:line and the line itself, for a report. */
    @Override
    public String toString() {
        return source + ":" + line + "  " + raw;
    }

    /**
     * Every event of every {@code *.events} file in the directory, in time order. A last line without its line end
     * (a JVM killed in the middle of a write) is left out.
     */
    public static List<Event> readAll(Path directory) {
        List<Event> events = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".events")).sorted().toList()) {
                events.addAll(read(file));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the events in " + directory, e);
        }
        events.sort(Comparator.comparingLong(Event::micros));
        return events;
    }

    static List<Event> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
        List<Event> events = new ArrayList<>();
        String source = file.getFileName().toString();
        int lineNo = 0;
        int start = 0;
        for (int end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
            lineNo++;
            String raw = text.substring(start, end);
            if (!raw.isBlank()) {
                events.add(parse(raw, source, lineNo));
            }
        }
        return events;
    }

    static Event parse(String raw, String source, int lineNo) {
        String[] parts = raw.split("\t");
        Map<String, String> fields = new LinkedHashMap<>();
        for (int i = 2; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            fields.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        return new Event(Long.parseLong(parts[0]), parts[1], fields, source, lineNo, raw);
    }
}
