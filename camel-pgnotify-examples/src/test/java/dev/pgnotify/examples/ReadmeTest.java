package dev.pgnotify.examples;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The routes the README shows are the routes the examples run: the YAML files verbatim, and each Java route's code.
 */
class ReadmeTest {

    @ParameterizedTest
    @CsvSource({ "src/main/resources/routes/file-bridge.yaml, yaml", "src/main/resources/routes/webhook-relay.yaml, yaml",
            "src/main/java/dev/pgnotify/examples/FileBridgeRoutes.java, java",
            "src/main/java/dev/pgnotify/examples/WebhookRelayRoutes.java, java",
            "src/main/java/dev/pgnotify/examples/OutboxRelayRoutes.java, java" })
    void readmeShowsTheRouteAsItRuns(String file, String kind) throws Exception {
        String readme = Files.readString(Path.of("../README.md"), StandardCharsets.UTF_8);
        String source = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        if (kind.equals("yaml")) {
            assertTrue(readme.contains("```yaml\n" + source + "```"), "README.md does not show " + file + " verbatim");
            return;
        }
        // the route code: the configure() body, as indented in the README
        String body = source.substring(source.indexOf("public void configure() {") + "public void configure() {".length(),
                source.lastIndexOf("    }\n}"));
        for (String line : body.strip().split("\n")) {
            String code = line.strip();
            if (!code.isEmpty() && !code.startsWith("//")) {
                assertTrue(readme.contains(code), "README.md does not show this line of " + file + ": " + code);
            }
        }
    }
}
