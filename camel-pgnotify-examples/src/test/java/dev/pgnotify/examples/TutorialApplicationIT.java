package dev.pgnotify.examples;

import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.test.CapturedLogs;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.main.Main;
import org.junit.jupiter.api.Test;

import static org.apache.camel.builder.Builder.body;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the tutorial application as users do, on its default database, until the listener has printed payloads.
 */
class TutorialApplicationIT {

    @Test
    void notifierRowsReachTheListenerThroughTheTutorialsTrigger() throws Exception {
        try (CapturedLogs logs = new CapturedLogs()) {
            Main main = TutorialApplication.newMain();
            main.start();
            try {
                CamelContext context = main.getCamelContext();
                NotifyBuilder threeNotifications = new NotifyBuilder(context).fromRoute("listener")
                        .whenCompleted(3).and().whenAllDoneMatches(body().contains("\"message\": \"message number"))
                        .create();
                assertTrue(threeNotifications.matches(30, TimeUnit.SECONDS),
                        "three rows inserted by the notifier reached the listener");
            } finally {
                main.stop();
            }
            // the listener route's log lines: logger "listener", as users see them
            List<String> received = logs.lines().stream()
                    .filter(line -> line.startsWith("listener Received notification: ")).toList();
            assertTrue(received.size() >= 3, String.join("\n", logs.lines()));
            String first = received.get(0);
            // row_to_json(NEW): the whole row, as the tutorial prints it
            assertTrue(first.contains("\"id\":") && first.contains("\"created_at\":")
                       && first.contains("\"message\":{\"message\": \"message number 1\"}"), first);
        }
    }
}
