package dev.pgnotify.examples.guide;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README and the user guide under docs/ cannot rot: every sample they show is checked against the project as it
 * is. Java samples are found, verbatim, in a compiled source file (the examples' routes, or the guide's samples kept
 * in the Spring Boot starter's tests); YAML samples are route files; commands name modules, classes and files that
 * exist; properties, environment variables and Maven coordinates name the component's options and this project's
 * artifacts; every link between the pages leads to a page and a heading that exist. SQL samples are run against
 * a real PostgreSQL by GuideSqlIT, and the README's routes by GuideRoutesIT.
 */
class GuideSamplesTest {

    private static final Path ROOT = Path.of("..");
    private static final Pattern FENCE = Pattern.compile("(?ms)^```(\\w+)\\n(.*?)^```$");
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("(?m)^#+ (.*)$");

    /** A fenced sample of one page: its language and its text. */
    record Sample(Path page, String language, String text) {
        @Override
        public String toString() {
            return ROOT.relativize(page) + " (" + language + "): " + text.lines().findFirst().orElse("");
        }
    }

    /** README.md and every page of the guide (docs/*.md; the benchmark's reports under docs/benchmark are its output). */
    static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>();
        pages.add(ROOT.resolve("README.md"));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }

    static List<Sample> samples(String language) throws IOException {
        List<Sample> samples = new ArrayList<>();
        for (Path page : pages()) {
            Matcher fence = FENCE.matcher(Files.readString(page, StandardCharsets.UTF_8));
            while (fence.find()) {
                if (fence.group(1).equals(language)) {
                    samples.add(new Sample(page, language, fence.group(2)));
                }
            }
        }
        return samples;
    }

    @Test
    void everyJavaSampleIsInACompiledSource() throws IOException {
        List<String> sources = sources(".java");
        List<Sample> samples = samples("java");
        assertFalse(samples.isEmpty());
        for (Sample sample : samples) {
            String code = normalized(sample.text());
            assertTrue(sources.stream().anyMatch(source -> source.contains(code)),
                    "no source file of the project compiles this sample, verbatim: " + sample);
        }
    }

    @Test
    void everyYamlSampleIsARouteFile() throws IOException {
        List<String> routeFiles = sources(".yaml");
        for (Sample sample : samples("yaml")) {
            String routes = normalized(sample.text());
            assertTrue(routeFiles.stream().anyMatch(file -> file.contains(routes)),
                    "no YAML file of the project holds this sample, verbatim: " + sample);
        }
    }

    @Test
    void everyCommandNamesWhatExists() throws IOException {
        Set<String> options = componentOptions();
        for (Sample sample : samples("bash")) {
            for (String line : sample.text().split("\n")) {
                String command = line.startsWith("$ ") ? line.substring(2) : line;
                List<String> words = List.of(command.trim().split("\\s+"));
                if (command.startsWith("mvn ")) {
                    for (int i = 0; i < words.size(); i++) {
                        if (words.get(i).equals("-pl")) {
                            for (String module : words.get(i + 1).split(",")) {
                                assertTrue(Files.exists(ROOT.resolve(module).resolve("pom.xml")),
                                        "no module " + module + ": " + sample);
                            }
                        } else if (words.get(i).startsWith("-Dexample.mainClass=")) {
                            String type = words.get(i).substring("-Dexample.mainClass=".length());
                            assertTrue(Files.exists(ROOT.resolve("camel-pgnotify-examples/src/main/java")
                                    .resolve(type.replace('.', '/') + ".java")), "no class " + type + ": " + sample);
                        }
                    }
                } else if (command.startsWith("java ") && words.get(1).endsWith(".java")) {
                    assertTrue(Files.exists(ROOT.resolve(words.get(1))), "no file " + words.get(1) + ": " + sample);
                } else if (command.startsWith("export CAMEL_COMPONENT_PGNOTIFY_")) {
                    String variable = words.get(1).substring("CAMEL_COMPONENT_PGNOTIFY_".length(),
                            words.get(1).indexOf('='));
                    String option = camelCase(variable.toLowerCase().replace('_', '-'));
                    assertTrue(options.contains(option), "no component option " + option + ": " + sample);
                }
            }
        }
    }

    @Test
    void everyPropertyIsAComponentOption() throws IOException {
        Set<String> options = componentOptions();
        Pattern key = Pattern.compile("(?m)^#?\\s*camel\\.component\\.pgnotify\\.([a-z-]+)=");
        for (Sample sample : samples("properties")) {
            Matcher property = key.matcher(sample.text());
            while (property.find()) {
                assertTrue(options.contains(camelCase(property.group(1))),
                        "no component option " + property.group(1) + ": " + sample);
            }
        }
    }

    @Test
    void everyDependencyIsOneOfThisProjectsArtifacts() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"), StandardCharsets.UTF_8);
        String version = between(parent, "<version>", "</version>");
        for (Sample sample : samples("xml")) {
            String artifact = between(sample.text(), "<artifactId>", "</artifactId>");
            assertEquals(between(parent, "<groupId>", "</groupId>"), between(sample.text(), "<groupId>", "</groupId>"),
                    sample.toString());
            assertTrue(parent.contains("<module>" + artifact + "</module>"), "no module " + artifact + ": " + sample);
            assertEquals(version, between(sample.text(), "<version>", "</version>"), sample.toString());
        }
    }

    @Test
    void everyLinkLeadsToAPageAndAHeadingThatExist() throws IOException {
        for (Path page : pages()) {
            String text = FENCE.matcher(Files.readString(page, StandardCharsets.UTF_8)).replaceAll("");
            Matcher link = LINK.matcher(text);
            while (link.find()) {
                String target = link.group(1);
                if (target.startsWith("http://") || target.startsWith("https://")) {
                    continue;
                }
                int hash = target.indexOf('#');
                String file = hash < 0 ? target : target.substring(0, hash);
                Path linked = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                assertTrue(Files.exists(linked), ROOT.relativize(page) + " links to a file that does not exist: " + target);
                if (hash >= 0 && linked.toString().endsWith(".md")) {
                    String anchor = target.substring(hash + 1);
                    assertTrue(anchors(linked).contains(anchor),
                            ROOT.relativize(page) + " links to a heading that does not exist: " + target);
                }
            }
        }
    }

    /** The examples' routes, as they run, are what the guide shows: a route changed without its page fails here. */
    @ParameterizedTest
    @CsvSource({ "src/main/resources/routes/file-bridge.yaml, yaml", "src/main/resources/routes/webhook-relay.yaml, yaml",
            "src/main/java/dev/pgnotify/examples/FileBridgeRoutes.java, java",
            "src/main/java/dev/pgnotify/examples/WebhookRelayRoutes.java, java",
            "src/main/java/dev/pgnotify/examples/OutboxRelayRoutes.java, java" })
    void theExamplesPageShowsEachRouteAsItRuns(String file, String kind) throws IOException {
        String page = Files.readString(ROOT.resolve("docs/examples.md"), StandardCharsets.UTF_8);
        String source = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        if (kind.equals("yaml")) {
            assertTrue(page.contains("```yaml\n" + source + "```"), "docs/examples.md does not show " + file + " verbatim");
            return;
        }
        String body = source.substring(source.indexOf("public void configure() {") + "public void configure() {".length(),
                source.lastIndexOf("    }\n}"));
        for (String line : body.strip().split("\n")) {
            String code = line.strip();
            if (!code.isEmpty() && !code.startsWith("//")) {
                assertTrue(page.contains(code), "docs/examples.md does not show this line of " + file + ": " + code);
            }
        }
    }

    /** GitHub's anchors: the heading in lower case, without punctuation, spaces as hyphens. */
    private static Set<String> anchors(Path page) throws IOException {
        Matcher heading = HEADING.matcher(FENCE.matcher(Files.readString(page, StandardCharsets.UTF_8)).replaceAll(""));
        Set<String> anchors = new HashSet<>();
        while (heading.find()) {
            anchors.add(heading.group(1).strip().toLowerCase().replaceAll("[^\\p{L}\\p{N}_\\- ]", "").replace(' ', '-'));
        }
        return anchors;
    }

    /** Every file with that ending under a module's src/, whitespace normalized. */
    private static List<String> sources(String ending) throws IOException {
        try (Stream<Path> files = Files.walk(ROOT)) {
            return files.filter(p -> p.toString().endsWith(ending) && p.toString().contains("/src/"))
                    .filter(p -> !p.toString().contains("/target/"))
                    .map(p -> {
                        try {
                            return normalized(Files.readString(p, StandardCharsets.UTF_8));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    })
                    .collect(Collectors.toList());
        }
    }

    private static String normalized(String text) {
        return String.join(" ", text.trim().split("\\s+"));
    }

    private static Set<String> componentOptions() throws IOException {
        try (InputStream in = GuideSamplesTest.class.getResourceAsStream("/META-INF/dev/pgnotify/camel/pgnotify.json")) {
            assertNotNull(in, "the component's catalog is on the classpath");
            JsonObject catalog = (JsonObject) Jsoner.deserialize(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            Map<String, Object> properties = catalog.getMap("componentProperties");
            return properties.keySet();
        } catch (org.apache.camel.util.json.DeserializationException e) {
            throw new IOException(e);
        }
    }

    private static String camelCase(String kebab) {
        StringBuilder name = new StringBuilder();
        for (String part : kebab.split("-")) {
            name.append(name.length() == 0 ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
        }
        return name.toString();
    }

    private static String between(String text, String open, String close) {
        int start = text.indexOf(open) + open.length();
        return text.substring(start, text.indexOf(close, start)).trim();
    }
}
