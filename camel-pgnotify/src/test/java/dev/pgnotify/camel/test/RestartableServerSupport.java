package dev.pgnotify.camel.test;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A test class's own embedded PostgreSQL, which its tests stop and start again (fast, or immediately as in a crash),
 * committing synchronously as production servers do: a crash may not lose an acknowledged send.
 */
public abstract class RestartableServerSupport {

    protected static PgTestServer server;

    @BeforeAll
    static void startServer() {
        server = PgTestServer.embeddedRestartable(Map.of("synchronous_commit", "on"));
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
            server = null;
        }
    }
}
