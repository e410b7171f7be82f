package dev.pgnotify.camel.queue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;

/**
 * What {@link DeduplicationHistory} expects of the deduplication ids, as committed: for each id, the message holding
 * it, the last one that held it and when it completed, whether its row exists; and how often the clock moved on. A
 * window of a minute still runs after one move (40 s) and is over after two (80 s).
 */
final class DeduplicationModel {

    static final long MINUTE = 60_000;
    /** A window beyond the longest a timestamp holds: kept for good. */
    static final long FOREVER = Long.MAX_VALUE;

    private static final AtomicLong TOKENS = new AtomicLong();

    /** A message as the model knows it; its body is its token. */
    static final class Message {
        final String token = "m" + TOKENS.incrementAndGet();
        final long window;
        Long id;
        /** The delivery the history decides next. */
        int delivery = 1;

        Message(long window) {
            this.window = window;
        }
    }

    /** What the model knows of an id. */
    private static final class IdState {
        /** The message holding the id (committed), or null. */
        Message live;
        /** The last message that held it and completed, and when (in moves of the clock). */
        Message last;
        int completedAt;
        /** Whether the deduplication table has a row for it (committed). */
        boolean row;
    }

    private final String[] names;
    private final IdState[] ids;
    private int moves;

    DeduplicationModel(String[] names) {
        this.names = names;
        ids = new IdState[names.length];
        for (int id = 0; id < ids.length; id++) {
            ids[id] = new IdState();
        }
    }

    /** Whether a send of the id now would be enqueued (nothing uncommitted considered). */
    boolean free(int id) {
        return ids[id].live == null && (!ids[id].row || windowOver(ids[id]));
    }

    /** Whether the id has a row, its window over (a send takes it again; a sweep forgets it). */
    boolean over(int id) {
        return ids[id].row && ids[id].live == null && windowOver(ids[id]);
    }

    boolean hasRow(int id) {
        return ids[id].row;
    }

    /** The message holding the id, or null. */
    Message live(int id) {
        return ids[id].live;
    }

    /** A send of the id committed. */
    void taken(int id, Message message) {
        ids[id].live = message;
        ids[id].row = true;
    }

    /** Its message was acknowledged or dead-lettered: its window starts. */
    void completed(int id) {
        ids[id].last = ids[id].live;
        ids[id].live = null;
        ids[id].completedAt = moves;
    }

    void forgotten(int id) {
        ids[id].row = false;
    }

    void clockMoved() {
        moves++;
    }

    /** The queue's messages by deduplication id, as the table must hold them. */
    Map<String, Long> messages() {
        Map<String, Long> messages = new HashMap<>();
        for (int id = 0; id < ids.length; id++) {
            if (ids[id].live != null) {
                messages.put(names[id], 1L);
            }
        }
        return messages;
    }

    /** The deduplication table's rows: 'taken', 'window' (running) or 'over', by id. */
    Map<String, String> rows() {
        Map<String, String> rows = new HashMap<>();
        for (int id = 0; id < ids.length; id++) {
            IdState state = ids[id];
            if (state.row) {
                rows.put(names[id], state.live != null || state.last.window == FOREVER ? "taken"
                        : windowOver(state) ? "over" : "window");
            }
        }
        return rows;
    }

    /** How many ids have a row whose window is over, but for those that the predicate excludes. */
    long over(IntPredicate excluded) {
        long over = 0;
        for (int id = 0; id < ids.length; id++) {
            if (over(id) && !excluded.test(id)) {
                over++;
            }
        }
        return over;
    }

    private boolean windowOver(IdState state) {
        Message last = state.last;
        return last == null || last.window == 0 || last.window == MINUTE && moves - state.completedAt >= 2;
    }
}
