package dev.pgnotify.camel.test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PgBouncer in front of the test server, started from the installed binary (Debian's {@code pgbouncer}
 * package, which {@code .ci/run} installs) with a configuration written at test time. Without the binary a test that
 * needs it does not pass: it is aborted, saying what to install; with {@code PGNOTIFY_TEST_REQUIRE_PGBOUNCER=true}
 * (as in CI) it fails.
 */
public final class PgBouncer implements AutoCloseable {

    /** A pgbouncer binary to use instead of the one on the PATH. */
    public static final String BINARY_PROPERTY = "pgnotify.test.pgbouncer";
    public static final String REQUIRE_ENV = "PGNOTIFY_TEST_REQUIRE_PGBOUNCER";

    private static final Logger LOG = LoggerFactory.getLogger(PgBouncer.class);
    private static final long START_TIMEOUT_MILLIS = 15_000;

    private final Process process;
    private final Path directory;
    private final int port;
    private final String database;
    private final String query;

    private PgBouncer(Process process, Path directory, int port, String database, String query) {
        this.process = process;
        this.directory = directory;
        this.port = port;
        this.database = database;
        this.query = query;
    }

    /**
     * Starts a PgBouncer in front of the server, pooling in this mode (session, transaction or statement); aborts the
     * calling test, saying what to install, when there is no pgbouncer binary.
     */
    public static PgBouncer inFrontOf(PgTestServer server, String poolMode) throws IOException {
        Path binary = binary().orElse(null);
        if (binary == null) {
            String message = "PgBouncer is not installed, so this test did NOT run. Install it (Debian/Ubuntu: apt-get"
                             + " install pgbouncer) or point -D" + BINARY_PROPERTY + " at a pgbouncer binary.";
            if (Boolean.parseBoolean(System.getenv(REQUIRE_ENV))) {
                Assertions.fail(message + " (" + REQUIRE_ENV + " is set)");
            }
            Assumptions.abort(message);
        }
        URI serverUri = URI.create(server.jdbcUrl().substring("jdbc:".length()));
        String host = serverUri.getHost();
        int serverPort = serverUri.getPort() > 0 ? serverUri.getPort() : 5432;
        String database = serverUri.getPath().substring(1);
        int port = freePort();
        // the directory is written by whoever runs pgbouncer, which may not be this user (see command())
        Path directory = Files.createTempDirectory("pgnotify-pgbouncer",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path users = directory.resolve("users.txt");
        Files.writeString(users, quoted(server.username()) + " " + quoted(server.password()) + "\n");
        Path config = directory.resolve("pgbouncer.ini");
        Files.writeString(config, String.join("\n",
                "[databases]",
                "* = host=" + host + " port=" + serverPort,
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                "listen_port = " + port,
                "unix_socket_dir =",
                "auth_type = trust",
                "auth_file = " + users,
                "pool_mode = " + poolMode,
                "max_client_conn = 500",
                "default_pool_size = 20",
                "ignore_startup_parameters = extra_float_digits,options",
                "server_reset_query =",
                ""));
        Path log = directory.resolve("pgbouncer.log");
        Process process = new ProcessBuilder(command(binary, config)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        PgBouncer bouncer = new PgBouncer(process, directory, port, database, serverUri.getQuery());
        try {
            Awaitility.await("PgBouncer accepting connections").atMost(Duration.ofMillis(START_TIMEOUT_MILLIS))
                    .pollInterval(Duration.ofMillis(50)).until(() -> {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("PgBouncer exited: " + Files.readString(log));
                        }
                        return bouncer.accepts();
                    });
        } catch (RuntimeException e) {
            bouncer.close();
            throw e;
        }
        LOG.info("PgBouncer ({} pooling) listens on port {} in front of {}", poolMode, port, server);
        return bouncer;
    }

    /** The URL of the test server's database through this PgBouncer. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + (query != null ? "?" + query : "");
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(directory)) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            LOG.debug("Could not delete {}", directory, e);
        }
    }

    static Optional<Path> binary() {
        String configured = System.getProperty(BINARY_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured));
        }
        List<Path> candidates = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String entry : path.split(java.io.File.pathSeparator)) {
                candidates.add(Path.of(entry, "pgbouncer"));
            }
        }
        candidates.add(Path.of("/usr/sbin/pgbouncer"));
        candidates.add(Path.of("/usr/bin/pgbouncer"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /** PgBouncer refuses to run as root: as the embedded server does, it then runs in a user namespace of its own. */
    private static List<String> command(Path binary, Path config) {
        List<String> command = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            command.addAll(List.of("unshare", "-U"));
        }
        command.add(binary.toString());
        command.add(config.toString());
        return command;
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String quoted(String value) {
        return "\"" + (value == null ? "" : value.replace("\"", "\"\"")) + "\"";
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
