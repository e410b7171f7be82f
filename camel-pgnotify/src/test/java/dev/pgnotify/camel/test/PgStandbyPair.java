package dev.pgnotify.camel.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A primary and a streaming hot standby, both from the embedded binaries (no Docker, no pg_basebackup: the standby is
 * a copy of the primary's data directory taken while the primary is stopped cleanly, with standby.signal and
 * primary_conninfo), as managed services run them (RDS Multi-AZ, Cloud SQL HA, Azure flexible server, Patroni,
 * CloudNativePG). A test can then fail over: {@link #promote() promote} the standby, and {@link #crashPrimary() crash},
 * {@link #freezePrimary() freeze} or {@link #makePrimaryReadOnly() make read-only} the old primary.
 * <p>
 * With {@code synchronous}, the primary waits for the standby's flush at every commit
 * (synchronous_standby_names, synchronous_commit=on): nothing acknowledged is lost in a failover. Without it, the
 * standby replays what reached it: what the primary committed and had not shipped is lost with the primary.
 */
public final class PgStandbyPair implements AutoCloseable {

    /** The standby's application_name, which synchronous_standby_names names. */
    public static final String STANDBY_NAME = "pgnotify_standby";

    private static final long TIMEOUT_SECONDS = 60;

    private final PgTestServer primary;
    private final Path standbyDirectory;
    private final int standbyPort;
    private final List<String> standbyCommand;
    private Process standby;
    private List<Long> frozen = List.of();

    private PgStandbyPair(PgTestServer primary, Path standbyDirectory, int standbyPort, List<String> standbyCommand) {
        this.primary = primary;
        this.standbyDirectory = standbyDirectory;
        this.standbyPort = standbyPort;
        this.standbyCommand = standbyCommand;
    }

    /** Starts a primary and a standby streaming from it, synchronous or not, and waits until the standby streams. */
    public static PgStandbyPair start(boolean synchronous) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("wal_level", "replica");
        settings.put("max_wal_senders", "4");
        // production servers commit durably; the embedded default (off) would lose commits in a crash on its own
        settings.put("synchronous_commit", "on");
        settings.put("fsync", "on");
        settings.put("wal_sender_timeout", "5s");
        PgTestServer primary = PgTestServer.embeddedRestartable(settings);
        try {
            // a clean stop leaves a consistent data directory: copied, it is a base backup
            primary.stop(PgTestServer.StopMode.FAST);
            Path copy = Files.createTempDirectory("pgnotify-standby-pg");
            copyDirectory(primary.dataDirectory(), copy);
            primary.start();
            int port = freePort();
            Files.writeString(copy.resolve("standby.signal"), "");
            Files.writeString(copy.resolve("postgresql.auto.conf"),
                    "\nprimary_conninfo = 'host=localhost port=" + primary.port() + " user=postgres application_name="
                                                                    + STANDBY_NAME + "'\n",
                    StandardOpenOption.APPEND);
            PgStandbyPair pair = new PgStandbyPair(primary, copy, port,
                    withDirectoryAndPort(primary.postmasterCommand(), copy, port));
            pair.startStandby();
            pair.awaitStreaming();
            if (synchronous) {
                // set after the copy was taken: the promoted standby must not wait for a standby of its own
                primary.execute("ALTER SYSTEM SET synchronous_standby_names = '" + STANDBY_NAME + "'",
                        "SELECT pg_reload_conf()");
                pair.awaitSynchronous();
            }
            return pair;
        } catch (IOException e) {
            primary.close();
            throw new UncheckedIOException(e);
        } catch (SQLException | RuntimeException e) {
            primary.close();
            throw new IllegalStateException("Cannot start a primary with a standby", e);
        }
    }

    public PgTestServer primary() {
        return primary;
    }

    /** The standby alone (a hot standby until promoted). */
    public String standbyJdbcUrl() {
        return "jdbc:postgresql://localhost:" + standbyPort + "/postgres";
    }

    /** Both hosts, as pgjdbc documents for a failover: a new connection goes to whichever is the writable primary. */
    public String multiHostJdbcUrl() {
        return "jdbc:postgresql://localhost:" + primary.port() + ",localhost:" + standbyPort
               + "/postgres?targetServerType=primary";
    }

    /** Promotes the standby (pg_promote) and waits until it takes writes. */
    public void promote() throws SQLException {
        try (Connection connection = DriverManager.getConnection(standbyJdbcUrl(), "postgres", null);
             Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_promote(true, " + TIMEOUT_SECONDS + ")")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                throw new IllegalStateException("The standby was not promoted within " + TIMEOUT_SECONDS + " s");
            }
        }
    }

    /** The first column of a query's first row, as a number, on the standby (the new primary once promoted). */
    public long queryNewPrimary(String sql) throws SQLException {
        try (Connection connection = DriverManager.getConnection(standbyJdbcUrl(), "postgres", null);
             Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The old primary crashes: every process killed at once, nothing flushed or shipped afterwards. */
    public void crashPrimary() {
        primary.stop(PgTestServer.StopMode.IMMEDIATE);
    }

    /**
     * The old primary stops answering without closing anything, as a VM that froze or a network that partitioned:
     * every process stopped (SIGSTOP), its connections left open, new ones accepted by the kernel and never answered.
     */
    public void freezePrimary() {
        frozen = primary.processIds();
        signal("STOP", frozen);
    }

    /**
     * The old primary keeps answering, read-only (default_transaction_read_only, as a demoted or fenced primary does):
     * writes fail, a LISTEN there hears nothing more.
     */
    public void makePrimaryReadOnly() throws SQLException {
        primary.execute("ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()");
    }

    /**
     * The standby stops receiving WAL (primary_conninfo emptied: its WAL receiver ends and is not started again), as a
     * standby cut off from its primary: an asynchronous primary commits on, and what it commits from now on is lost
     * in a failover; a synchronous one makes every commit wait.
     */
    public void stopReceiving() throws SQLException {
        try (Connection connection = DriverManager.getConnection(standbyJdbcUrl(), "postgres", null);
             Statement statement = connection.createStatement()) {
            statement.execute("ALTER SYSTEM SET primary_conninfo = ''");
            statement.execute("SELECT pg_reload_conf()");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (queryNewPrimary("SELECT count(*) FROM pg_stat_wal_receiver") > 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("The standby's WAL receiver did not stop");
            }
            sleep(20);
        }
    }

    /** Bytes the primary wrote that the standby has not replayed yet (0 in synchronous mode at rest). */
    public long replayLagBytes() throws SQLException {
        Object lag = primary.queryValue("SELECT coalesce(sum(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), -1)"
                                        + " FROM pg_stat_replication");
        return ((Number) lag).longValue();
    }

    private void startStandby() throws IOException {
        Path log = standbyDirectory.resolveSibling(standbyDirectory.getFileName() + ".log");
        standby = new ProcessBuilder(standbyCommand).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (true) {
            try (Connection connection = DriverManager.getConnection(standbyJdbcUrl(), "postgres", null)) {
                return;
            } catch (SQLException e) {
                if (System.nanoTime() > deadline || !standby.isAlive()) {
                    throw new IllegalStateException("The standby did not start; see " + log, e);
                }
                sleep(50);
            }
        }
    }

    private void awaitStreaming() throws SQLException {
        awaitPrimary("SELECT count(*) FROM pg_stat_replication WHERE application_name = '" + STANDBY_NAME
                     + "' AND state = 'streaming'", "the standby did not stream");
    }

    private void awaitSynchronous() throws SQLException {
        awaitPrimary("SELECT count(*) FROM pg_stat_replication WHERE application_name = '" + STANDBY_NAME
                     + "' AND sync_state = 'sync'", "the standby did not become synchronous");
    }

    private void awaitPrimary(String countQuery, String failure) throws SQLException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (((Number) primary.queryValue(countQuery)).longValue() == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(failure + " within " + TIMEOUT_SECONDS + " s");
            }
            sleep(50);
        }
    }

    /** The postmaster's command with another data directory and port. */
    private static List<String> withDirectoryAndPort(List<String> command, Path directory, int port) {
        List<String> changed = new ArrayList<>(command);
        for (int i = 0; i < changed.size() - 1; i++) {
            if (changed.get(i).equals("-D")) {
                changed.set(i + 1, directory.toString());
            } else if (changed.get(i).equals("-p")) {
                changed.set(i + 1, Integer.toString(port));
            }
        }
        return changed;
    }

    private static void copyDirectory(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path source : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(source).toString());
                String name = source.getFileName().toString();
                if (name.equals("postmaster.pid") || name.equals("postmaster.opts")) {
                    continue;
                }
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        // PostgreSQL refuses a data directory others may read
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwx------"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void signal(String signal, List<Long> pids) {
        List<String> command = new ArrayList<>(List.of("kill", "-s", signal));
        pids.forEach(pid -> command.add(Long.toString(pid)));
        try {
            Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
            kill.getInputStream().readAllBytes();
            kill.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Stops both servers (a frozen primary is killed) and deletes their data. */
    @Override
    public void close() {
        try {
            if (!frozen.isEmpty()) {
                signal("KILL", frozen);
            }

            if (standby != null) {
                // a fast shutdown, as pg_ctl's: SIGINT to the postmaster
                signal("INT", List.of(standby.pid()));
                try {
                    if (!standby.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                        standby.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        } finally {
            primary.close();
            try (Stream<Path> paths = Files.walk(standbyDirectory)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // a temporary directory: left behind
            }
        }
    }
}
