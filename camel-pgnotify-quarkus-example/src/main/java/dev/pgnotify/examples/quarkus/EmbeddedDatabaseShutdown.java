package dev.pgnotify.examples.quarkus;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.context.Destroyed;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

/**
 * Stops the embedded PostgreSQL {@link EmbeddedDatabaseConfig} started, once the application's beans are gone (Camel
 * stopped, the Agroal pools closed): not before, or the consumers would see their database vanish while stopping.
 */
@Singleton
public class EmbeddedDatabaseShutdown {

    void stopped(@Observes @Destroyed(ApplicationScoped.class) Object event) {
        EmbeddedDatabaseConfig.stop();
    }
}
