package dev.pgnotify.examples;

import org.apache.camel.builder.RouteBuilder;

/**
 * Files to PostgreSQL and back: every file dropped in the inbox becomes a queued message, byte for byte, with its
 * name (CamelFileName travels with the message), and is written to the outbox under the same name. Stop the outbox
 * route and the files wait in PostgreSQL. The same routes in YAML: routes/file-bridge.yaml.
 */
public class FileBridgeRoutes extends RouteBuilder {

    @Override
    public void configure() {
        from("file:{{demo.dir}}/inbox").routeId("files-in")
                .to("pgnotify:files");

        from("pgnotify:files").routeId("files-out")
                .to("file:{{demo.dir}}/outbox")
                .log("file ${header.CamelFileName} relayed");
    }
}
