package dev.pgnotify.examples;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.pgnotify.camel.test.CapturedLogs;
import org.apache.camel.ServiceStatus;
import org.apache.camel.main.Main;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the durable tutorial as users do: both listeners print every message, in order, the one that was away
 * included, once it is back.
 */
class DurableTutorialApplicationIT {

    private static final Pattern NUMBER = Pattern.compile("message number (\\d+)");

    @Test
    void bothListenersPrintEveryMessageAndTheOneAwayCatchesUp() throws Exception {
        try (CapturedLogs logs = new CapturedLogs()) {
            Main main = DurableTutorialApplication.newMain();
            main.addOverrideProperty("tutorial.awayAfter", "2500");
            main.addOverrideProperty("tutorial.backAfter", "6500");
            main.start();
            try {
                Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
                        logs.anyContains("Starting listener2 again")
                        && main.getCamelContext().getRouteController().getRouteStatus("listener2")
                           == ServiceStatus.Started
                        && printed(logs, "listener2").size() >= 9);
            } finally {
                main.stop();
            }
            List<Integer> first = printed(logs, "listener1");
            List<Integer> second = printed(logs, "listener2");
            assertTrue(logs.anyContains("Stopping listener2"), String.join("\n", logs.lines()));
            // every number from 1 on, each once and in order, for both
            for (List<Integer> numbers : List.of(first, second)) {
                for (int i = 0; i < numbers.size(); i++) {
                    assertEquals(i + 1, numbers.get(i), "printed " + numbers);
                }
            }
            assertTrue(second.size() >= 9, "listener2 printed what was inserted while it was away: " + second);
        }
    }

    private static List<Integer> printed(CapturedLogs logs, String listener) {
        return logs.lines().stream().filter(line -> line.startsWith(listener + " Received notification: "))
                .map(line -> {
                    Matcher number = NUMBER.matcher(line);
                    return number.find() ? Integer.parseInt(number.group(1)) : -1;
                }).toList();
    }
}
