package dev.pgnotify.camel.history;

import java.util.List;

/**
 * A broken guarantee: which invariant, a short cause (what reports count violations by), what happened (tokens, ids
 * and times in the summary), and the event lines involved, each with its file and line number.
 */
public record Violation(Invariant invariant, String cause, String summary, List<String> tokens, List<Event> events) {

    /** At most this many event lines per violation in a report: enough to see what happened. */
    static final int MAX_EVENTS = 14;

    /** The violation, with the seed and how to replay it, and its event lines. */
    public String describe(String replay) {
        StringBuilder text = new StringBuilder().append('[').append(invariant).append("] ").append(summary)
                .append("\n    replay: ").append(replay);
        events.stream().limit(MAX_EVENTS).forEach(e -> text.append("\n    ").append(e));
        if (events.size() > MAX_EVENTS) {
            text.append("\n    ... and ").append(events.size() - MAX_EVENTS).append(" more event(s)");
        }
        return text.toString();
    }
}
