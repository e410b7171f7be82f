package dev.pgnotify.camel;

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

import dev.pgnotify.camel.test.PgTestServer;

/**
 * Runs {@link ConsumerProcess} in a separate JVM on the test's PostgreSQL.
 */
final class ChildJvmConsumer implements AutoCloseable {

    private final Process process;
    private final CompletableFuture<String> ready = new CompletableFuture<>();

    private ChildJvmConsumer(Process process) {
        this.process = process;
        Thread reader = new Thread(this::readOutput, "child-jvm-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    static ChildJvmConsumer start(PgTestServer server, Path log, String... arguments) throws Exception {
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
        command.add(ConsumerProcess.class.getName());
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
        ChildJvmConsumer child = new ChildJvmConsumer(process);
        child.ready.get(60, TimeUnit.SECONDS);
        return child;
    }

    /** The name the child records its work under. */
    String name() {
        return ready.getNow(null);
    }

    /** kill -9: no shutdown hook, no cleanup, exactly like a crash. */
    void kill() throws InterruptedException {
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

    static Path logFile(String name) {
        return new File("target/" + name + ".log").toPath();
    }
}
