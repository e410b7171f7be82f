package dev.pgnotify.camel.history;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The actor JVMs of one role (the consumers, or the producer), each in a slot: a slot's JVM may be killed and
 * replaced by a new one, named after the slot and its generation ({@code consumer-1.0}, then {@code consumer-1.1}),
 * each with its own event file ({@code <name>.events}) and log ({@code <name>.log}).
 */
final class ActorSlots implements AutoCloseable {

    private final String role;
    private final Path directory;
    private final Function<String, List<String>> arguments;
    private final BiConsumer<ActorJvm, Boolean> started;
    private final ActorJvm[] actors;
    private final int[] generations;

    /**
     * @param arguments the {@link ActorMain} arguments of a new actor, given its name
     * @param started   called once an actor is ready, with whether it replaces a killed one
     */
    ActorSlots(String role, Path directory, int size, Function<String, List<String>> arguments,
               BiConsumer<ActorJvm, Boolean> started) {
        this.role = role;
        this.directory = directory;
        this.arguments = arguments;
        this.started = started;
        this.actors = new ActorJvm[size];
        this.generations = new int[size];
    }

    /** Starts an actor in every slot. */
    synchronized void startAll() throws Exception {
        for (int slot = 0; slot < actors.length; slot++) {
            start(slot, false);
        }
    }

    int size() {
        return actors.length;
    }

    /** The name of the slot's actor, alive or not. */
    synchronized String name(int slot) {
        return actors[slot] == null ? null : actors[slot].name();
    }

    /** Kills the slot's actor with SIGKILL; returns its name. */
    synchronized String kill(int slot) throws InterruptedException {
        ActorJvm actor = actors[slot];
        actor.kill();
        return actor.name();
    }

    /** Starts a new actor in the slot (whose old one was killed); returns its name. */
    synchronized String replace(int slot) throws Exception {
        generations[slot]++;
        return start(slot, true).name();
    }

    /** The slot's actor, for telling it things. */
    synchronized ActorJvm actor(int slot) {
        return actors[slot];
    }

    private ActorJvm start(int slot, boolean replacement) throws Exception {
        String name = role + "-" + slot + "." + generations[slot];
        ActorJvm actor = ActorJvm.start(name, directory.resolve(name + ".log"), arguments.apply(name));
        actors[slot] = actor;
        started.accept(actor, replacement);
        return actor;
    }

    /** The event file of an actor of this name. */
    static Path eventFile(Path directory, String name) {
        return directory.resolve(name + ".events");
    }

    /** Stops every actor (cleanly, or killed after the bound), whatever fails. */
    @Override
    public synchronized void close() {
        List<Exception> failures = new ArrayList<>();
        // all at once: each finishes its exchanges in flight meanwhile
        for (ActorJvm actor : actors) {
            if (actor != null) {
                actor.askToStop();
            }
        }
        for (ActorJvm actor : actors) {
            if (actor != null) {
                try {
                    actor.close();
                } catch (Exception e) {
                    failures.add(e);
                }
            }
        }
        if (!failures.isEmpty()) {
            IllegalStateException failure = new IllegalStateException("Stopping the " + role + " actors failed");
            failures.forEach(failure::addSuppressed);
            throw failure;
        }
    }
}
