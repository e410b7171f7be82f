package dev.pgnotify.camel.springboot;

import dev.pgnotify.camel.test.PgTestServer;
import org.springframework.test.context.DynamicPropertyRegistry;

/** Points Spring Boot's DataSource at the tests' real PostgreSQL (see {@link PgTestServer}). */
final class TestDatabase {

    private TestDatabase() {
    }

    static PgTestServer server() {
        return PgTestServer.get();
    }

    static void springDataSource(DynamicPropertyRegistry registry) {
        PgTestServer server = server();
        registry.add("spring.datasource.url", server::jdbcUrl);
        if (server.username() != null) {
            registry.add("spring.datasource.username", server::username);
        }
        if (server.password() != null) {
            registry.add("spring.datasource.password", server::password);
        }
    }

    static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
