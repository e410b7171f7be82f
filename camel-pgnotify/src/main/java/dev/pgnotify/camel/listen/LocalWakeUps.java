package dev.pgnotify.camel.listen;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The queue consumers of one component, by table and channel, so that a producer of the same application wakes them
 * directly after its commit instead of through PostgreSQL (three thread hand-offs and a round trip fewer). The NOTIFY
 * still goes out for other applications; it carries this component's id, by which its own consumers recognise, and
 * skip, the wake-up they already had.
 */
public final class LocalWakeUps {

    private final String id = UUID.randomUUID().toString();
    private final Map<String, List<Sleeper>> consumers = new ConcurrentHashMap<>();

    /** A consumer, as its producers wake it. */
    @FunctionalInterface
    public interface Sleeper {

        /** Claim now (0), or when messages fall due that many milliseconds from now. */
        void wakeUp(long delayMillis);
    }

    /** Identifies this component in the payload of the wake-ups its producers send. */
    public String id() {
        return id;
    }

    public void register(String wakeUpChannel, String channel, Sleeper sleeper) {
        consumers.computeIfAbsent(key(wakeUpChannel, channel), k -> new CopyOnWriteArrayList<>()).add(sleeper);
    }

    public void unregister(String wakeUpChannel, String channel, Sleeper sleeper) {
        List<Sleeper> sleepers = consumers.get(key(wakeUpChannel, channel));
        if (sleepers != null) {
            sleepers.remove(sleeper);
        }
    }

    /** Wakes the channel's consumers now (0), or when messages fall due that many milliseconds from now. */
    public void wake(String wakeUpChannel, String channel, long delayMillis) {
        List<Sleeper> sleepers = consumers.get(key(wakeUpChannel, channel));
        if (sleepers != null) {
            sleepers.forEach(sleeper -> sleeper.wakeUp(delayMillis));
        }
    }

    private static String key(String wakeUpChannel, String channel) {
        return wakeUpChannel + '\u0000' + channel;
    }
}
