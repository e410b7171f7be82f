package dev.pgnotify.camel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every test class of the project runs in {@code mvn verify}: Surefire and Failsafe pick classes by name, and a class
 * named otherwise is compiled and silently never run. The claim engine's property tests (*Properties) were such classes
 * until Surefire's includes named them (the parent pom).
 */
class TestDiscoveryTest {

    /** Failsafe's default includes (the parent pom names none of its own). */
    private static final List<String> FAILSAFE_INCLUDES = List.of("**/IT*.java", "**/*IT.java", "**/*ITCase.java");
    private static final Pattern INCLUDE = Pattern.compile("<include>([^<]+)</include>");
    private static final Pattern HAS_TESTS = Pattern.compile(
            "@(Test|TestFactory|TestTemplate|Property|ParameterizedTest|RepeatedTest|Example)\\b");

    @Test
    void everyClassWithTestsIsNamedSoThatItRuns() throws IOException {
        Path project = Path.of("..").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(project.resolve("pom.xml")), "the project's root is " + project);
        // Surefire's includes, as the parent pom names them
        List<String> includes = new ArrayList<>(FAILSAFE_INCLUDES);
        Matcher named = INCLUDE.matcher(Files.readString(project.resolve("pom.xml")));
        while (named.find()) {
            includes.add(named.group(1).trim());
        }
        Pattern run = Pattern.compile(includes.stream()
                .map(include -> include.replace("**/", "").replace(".", "\\.").replace("*", ".*"))
                .collect(Collectors.joining("|")));
        List<Path> testSources;
        try (Stream<Path> dirs = Files.walk(project, 5)) {
            // module/src/test/java, or parent/module/src/test/java (the Quarkus extension)
            testSources = dirs.filter(dir -> dir.endsWith(Path.of("src", "test", "java")))
                    .filter(dir -> !project.relativize(dir).toString().contains("target"))
                    .toList();
        }
        assertTrue(testSources.size() > 3, "the modules' test sources: " + testSources);
        List<String> neverRun;
        try (Stream<Path> files = testSources.stream().flatMap(TestDiscoveryTest::walk)) {
            neverRun = files
                    .filter(file -> file.getFileName().toString().endsWith(".java"))
                    .filter(file -> !run.matcher(file.getFileName().toString()).matches())
                    .filter(TestDiscoveryTest::hasTests)
                    .map(file -> project.relativize(file).toString())
                    .sorted()
                    .toList();
        }
        assertTrue(neverRun.isEmpty(), "test classes that Surefire and Failsafe never run (rename them, or name their"
                                       + " pattern in the parent pom's includes " + includes + "): " + neverRun);
    }

    private static Stream<Path> walk(Path dir) {
        try {
            return Files.walk(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
    }

    private static boolean hasTests(Path file) {
        try {
            return HAS_TESTS.matcher(Files.readString(file)).find();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }
}
