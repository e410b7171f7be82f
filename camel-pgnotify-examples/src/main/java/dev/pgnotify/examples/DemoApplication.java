package dev.pgnotify.examples;

import org.apache.camel.main.Main;

/**
 * The pgnotify demo: PostgreSQL bridged with files, HTTP in, HTTP out (webhooks) and an outbox, all at once, with a
 * status line per channel every few seconds. On the configured database, else on an embedded PostgreSQL. Ctrl+C
 * stops it; so does camel.main.duration-max-seconds.
 */
public final class DemoApplication {

    private DemoApplication() {
    }

    public static void main(String[] args) throws Exception {
        newMain().run(args);
    }

    /** The application, not yet started. */
    public static Main newMain() {
        Main main = new Main();
        main.addMainListener(new LoadedRoutes());
        ExampleDatabase.configuredOrEmbedded(main);
        main.configure().addConfiguration(DemoConfiguration.class);
        return main;
    }
}
