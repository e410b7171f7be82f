package dev.pgnotify.camel.test;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the test classpath in a JVM of its own on the test's PostgreSQL (the server's URL and
 * credentials as {@link PgTestServer}'s system properties), to be killed as a crash would, or to compete with the
 * test's consumers. The child prints {@code READY <name>} once it consumes; closing its standard input asks it to
 * stop.
 */
public final class ChildJvm implements AutoCloseable {

    private final Process process;
    private final CompletableFuture<String> ready = new CompletableFuture<>();

    private ChildJvm(Process process) {
        this.process = process;
        Thread reader = new Thread(this::readOutput, "child-jvm-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    public static ChildJvm start(PgTestServer server, Path log, Class<?> mainClass, String... arguments)
            throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-D" + PgTestServer.JDBC_URL_PROPERTY + "=" + server.jdbcUrl());
        if (server.username() != null) {
            command.add("-D" + PgTestServer.USERNAME_PROPERTY + "=" + server.username());
        }
        if (server.password() != null) {
            command.add("-D" + PgTestServer.PASSWORD_PROPERTY + "=" + server.password());
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
        ChildJvm child = new ChildJvm(process);
        child.ready.get(60, TimeUnit.SECONDS);
        return child;
    }

    /** The name the child records its work under. */
    public String name() {
        return ready.getNow(null);
    }

    /** kill -9: no shutdown hook, no cleanup, exactly like a crash. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.getOutputStream().close();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private void readOutput() {
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("READY ")) {
                    ready.complete(line.substring("READY ".length()));
                }
            }
        } catch (IOException e) {
            ready.completeExceptionally(e);
        }
        ready.completeExceptionally(new IllegalStateException("the child JVM ended before it was ready; see its log"));
    }

    public static Path logFile(String name) {
        return new File("target/" + name + ".log").toPath();
    }
}
