package dev.pgnotify.camel;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import dev.pgnotify.camel.queue.QueueSchema;
import dev.pgnotify.camel.queue.QueueTable;
import dev.pgnotify.camel.topic.TopicSchema;
import dev.pgnotify.camel.topic.TopicTable;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The user guide (docs/) and the component's AsciiDoc are written by hand: every option and header of the JSON the
 * build generates must be in their tables (the guide's page of options and headers), and the schema SQL they show
 * must be what the component creates (the guide's page of the schema).
 */
class DocumentationTest {

    /** Camel's own options, documented by Camel. */
    private static final Set<String> CAMEL_STANDARD_OPTIONS = Set.of("configuration", "bridgeErrorHandler",
            "exceptionHandler", "exchangePattern", "lazyStartProducer", "autowiredEnabled");

    @ParameterizedTest
    @ValueSource(strings = { "../docs/options.md", "src/main/docs/pgnotify-component.adoc" })
    void everyOptionAndHeaderIsDocumented(String document) throws Exception {
        String text = Files.readString(Path.of(document), StandardCharsets.UTF_8);
        JsonObject catalog = catalog();
        for (String section : new String[] { "componentProperties", "properties", "headers" }) {
            Map<String, Object> entries = catalog.getMap(section);
            for (String name : entries.keySet()) {
                if (CAMEL_STANDARD_OPTIONS.contains(name) || "channel".equals(name)) {
                    continue;
                }
                boolean inTable = text.contains("| `" + name + "`") || text.contains("| *" + name + "*");
                assertTrue(inTable, document + " has no table row for " + section + " entry " + name);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = { "../docs/schema.md", "src/main/docs/pgnotify-component.adoc" })
    void schemaSqlIsWhatTheComponentCreates(String document) throws Exception {
        String text = Files.readString(Path.of(document), StandardCharsets.UTF_8);
        String ddl = String.join(";\n\n", QueueSchema.ddl(QueueTable.of(null, null).inSchema("public"))) + ";";
        assertTrue(text.contains(ddl), document + " does not show the schema the component creates:\n" + ddl);
    }

    @ParameterizedTest
    @ValueSource(strings = { "../docs/schema.md", "src/main/docs/pgnotify-component.adoc" })
    void topicSchemaSqlIsWhatTheComponentCreates(String document) throws Exception {
        String text = Files.readString(Path.of(document), StandardCharsets.UTF_8);
        String ddl = String.join(";\n\n", TopicSchema.ddl(TopicTable.of(null).inSchema("public"))) + ";";
        assertTrue(text.contains(ddl), document + " does not show the topic schema the component creates:\n" + ddl);
    }

    private static JsonObject catalog() throws Exception {
        try (InputStream in = DocumentationTest.class.getResourceAsStream("/META-INF/dev/pgnotify/camel/pgnotify.json")) {
            assertNotNull(in, "the generated catalog is on the classpath");
            return (JsonObject) Jsoner.deserialize(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
