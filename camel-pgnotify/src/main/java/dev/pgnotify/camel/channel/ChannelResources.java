package dev.pgnotify.camel.channel;

import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a channel's mode resolves on its database once and shares among the endpoint's producers, consumers and
 * operations (the queue table or the topic, their statements and codec): one of each kind. Resolved outside any lock,
 * since the schema check takes round trips and may wait for another application's schema lock; two users that resolve
 * at once are serialized by that lock in the database, and the first result is kept.
 */
public final class ChannelResources {

    /** Resolves a kind of resource on the database. */
    @FunctionalInterface
    public interface Resolver<T> {
        T resolve() throws SQLException;
    }

    private final Map<Class<?>, Object> resolved = new ConcurrentHashMap<>();

    /** The resource of this kind, resolving it the first time. */
    public <T> T get(Class<T> kind, Resolver<T> resolver) throws SQLException {
        Object known = resolved.get(kind);
        if (known != null) {
            return kind.cast(known);
        }
        T fresh = resolver.resolve();
        return kind.cast(resolved.computeIfAbsent(kind, k -> fresh));
    }
}
