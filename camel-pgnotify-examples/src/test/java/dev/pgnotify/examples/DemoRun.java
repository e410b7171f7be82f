package dev.pgnotify.examples;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import javax.sql.DataSource;

import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.Main;

/**
 * The demo application as users run it (DemoApplication.newMain()), with some of its bridges, started for a test on
 * its default database (an embedded PostgreSQL of its own, or the configured server).
 */
final class DemoRun implements AutoCloseable {

    final Main main;
    final Path dir;
    final int port;

    private DemoRun(Main main, Path dir, int port) {
        this.main = main;
        this.dir = dir;
        this.port = port;
    }

    /** Builds the demo with these bridges and extra properties, without its traffic, not yet started. */
    static DemoRun prepare(Path dir, String bridges, Map<String, String> properties) throws IOException {
        int port = freePort();
        Main main = DemoApplication.newMain();
        main.addOverrideProperty("demo.bridges", bridges);
        main.addOverrideProperty("demo.dir", dir.toString());
        main.addOverrideProperty("demo.traffic", "false");
        main.addOverrideProperty("demo.status-interval", "1000");
        main.addOverrideProperty("camel.server.port", Integer.toString(port));
        properties.forEach(main::addOverrideProperty);
        return new DemoRun(main, dir, port);
    }

    static DemoRun start(Path dir, String bridges, Map<String, String> properties) throws Exception {
        DemoRun run = prepare(dir, bridges, properties);
        run.main.start();
        return run;
    }

    CamelContext context() {
        return main.getCamelContext();
    }

    ProducerTemplate template() {
        return context().createProducerTemplate();
    }

    DataSource dataSource() {
        return ExampleDatabase.dataSource(context());
    }

    long count(String sql) throws SQLException {
        try (Connection connection = dataSource().getConnection(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Override
    public void close() {
        main.stop();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
