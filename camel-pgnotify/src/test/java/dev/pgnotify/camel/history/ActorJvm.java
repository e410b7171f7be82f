package dev.pgnotify.camel.history;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * An {@link ActorMain} in a JVM of its own, as {@link dev.pgnotify.camel.test.ChildJvm} runs a test's child, but on
 * the classpath of whoever runs it (the test's, or the benchmark's under {@code mvn exec:java}, whose class loader
 * holds it), with its output copied to a log file and a way to tell it to go. Closing it asks the actor to stop (its
 * standard input closes) and kills it if it has not within the bound.
 */
final class ActorJvm implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final String name;
    private final Process process;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    private ActorJvm(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        Thread reader = new Thread(() -> copyOutput(log), "history-actor-output-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts an actor with these {@link ActorMain} arguments and waits (bounded) until it says READY. */
    static ActorJvm start(String name, Path log, List<String> arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // small and quick to start: the machine runs several of these beside PostgreSQL and the test
                "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath(),
                ActorMain.class.getName()));
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        ActorJvm actor = new ActorJvm(name, process, log);
        try {
            actor.ready.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            actor.kill();
            throw new IllegalStateException("The actor " + name + " did not start; see " + log, e);
        }
        return actor;
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Sends one line to the actor's standard input. */
    void tell(String line) {
        try {
            OutputStream stdin = process.getOutputStream();
            // not closed: closing it would close the actor's standard input, which tells it to stop
            PrintWriter writer = new PrintWriter(stdin, true, StandardCharsets.UTF_8);
            writer.println(line);
            writer.flush();
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot tell " + name + " " + line, e);
        }
    }

    /** Waits (bounded) until the actor says DONE; false if it did not (it died, or the time ran out). */
    boolean awaitDone(Duration timeout) throws InterruptedException {
        try {
            done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return false;
        }
    }

    /** SIGKILL: no shutdown hook, no cleanup, exactly like a crash. Waits (bounded) until the process is gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            throw new IllegalStateException("The actor " + name + " (pid " + process.pid() + ") survived SIGKILL");
        }
    }

    /** Asks the actor to stop (its standard input closes), without waiting. */
    void askToStop() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // it is gone or stopping anyway
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            askToStop();
            if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private void copyOutput(Path log) {
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             Writer copy = Files.newBufferedWriter(log, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                     StandardOpenOption.APPEND)) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("READY ")) {
                    ready.complete(null);
                } else if (line.startsWith("DONE ")) {
                    done.complete(null);
                }
                copy.write(line);
                copy.write('\n');
                copy.flush();
            }
        } catch (IOException e) {
            ready.completeExceptionally(new UncheckedIOException(e));
        }
        IllegalStateException ended = new IllegalStateException("the actor " + name + " ended; see " + log);
        ready.completeExceptionally(ended);
        done.completeExceptionally(ended);
    }

    /** The classpath of this program, also under mvn exec:java (whose class loader holds it). */
    private static String classpath() {
        if (Thread.currentThread().getContextClassLoader() instanceof URLClassLoader loader
            && loader.getURLs().length > 0) {
            return Arrays.stream(loader.getURLs()).map(ActorJvm::path).collect(Collectors.joining(File.pathSeparator));
        }
        return System.getProperty("java.class.path");
    }

    private static String path(URL url) {
        try {
            return new File(url.toURI()).getPath();
        } catch (Exception e) {
            return url.getPath();
        }
    }
}
