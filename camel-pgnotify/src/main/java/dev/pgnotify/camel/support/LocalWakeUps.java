package dev.pgnotify.camel.support;

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
    private final Map<String, List<WakeUpSignal>> consumers = new ConcurrentHashMap<>();

    /** Identifies this component in the payload of the wake-ups its producers send. */
    public String id() {
        return id;
    }

    void register(String wakeUpChannel, String channel, WakeUpSignal signal) {
        consumers.computeIfAbsent(key(wakeUpChannel, channel), k -> new CopyOnWriteArrayList<>()).add(signal);
    }

    void unregister(String wakeUpChannel, String channel, WakeUpSignal signal) {
        List<WakeUpSignal> signals = consumers.get(key(wakeUpChannel, channel));
        if (signals != null) {
            signals.remove(signal);
        }
    }

    public void wake(String wakeUpChannel, String channel) {
        List<WakeUpSignal> signals = consumers.get(key(wakeUpChannel, channel));
        if (signals != null) {
            signals.forEach(WakeUpSignal::wakeOne);
        }
    }

    private static String key(String wakeUpChannel, String channel) {
        return wakeUpChannel + '\u0000' + channel;
    }
}
