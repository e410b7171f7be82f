package dev.pgnotify.examples;

import org.apache.camel.main.Main;

/**
 * The LISTEN/NOTIFY tutorial, in Camel: a notifier inserts a JSON row into tutorial.message_queue every second, the
 * table's trigger calls pg_notify('sample_channel', row_to_json(NEW)::text), and a listener route prints each
 * payload.
 */
public final class TutorialApplication {

    private TutorialApplication() {
    }

    public static void main(String[] args) throws Exception {
        newMain().run(args);
    }

    /** The application, not yet started: on the configured database, else on an embedded PostgreSQL. */
    public static Main newMain() {
        Main main = new Main();
        main.addMainListener(new LoadedRoutes());
        ExampleDatabase.configuredOrEmbedded(main);
        // the tutorial needs no HTTP server
        main.addOverrideProperty("camel.server.enabled", "false");
        main.configure().addConfiguration(TutorialConfiguration.class);
        main.configure().addRoutesBuilder(TutorialRoutes.class);
        return main;
    }
}
