package dev.pgnotify.examples;

import org.apache.camel.main.Main;

/**
 * The LISTEN/NOTIFY tutorial made durable: the notifier inserts a JSON row into tutorial_durable.message_queue every
 * second, the table's trigger appends it to a pgnotify topic, and two listener routes in two groups print every
 * message; one of them is away for five seconds and prints what it missed when it comes back.
 */
public final class DurableTutorialApplication {

    private DurableTutorialApplication() {
    }

    public static void main(String[] args) throws Exception {
        newMain().run(args);
    }

    /** The application, not yet started: on the configured database, else on an embedded PostgreSQL. */
    public static Main newMain() {
        Main main = new Main();
        main.addMainListener(new LoadedRoutes());
        ExampleDatabase.configuredOrEmbedded(main);
        main.addOverrideProperty("camel.server.enabled", "false");
        main.configure().addConfiguration(DurableTutorialConfiguration.class);
        main.configure().addRoutesBuilder(DurableTutorialRoutes.class);
        return main;
    }
}
