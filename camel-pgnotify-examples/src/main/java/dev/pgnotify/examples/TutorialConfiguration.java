package dev.pgnotify.examples;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;

/**
 * Applies the tutorial's schema and binds the DataSource the notifier inserts through.
 */
public class TutorialConfiguration implements CamelConfiguration {

    public static final String DATA_SOURCE = "tutorialDataSource";

    @Override
    public void configure(CamelContext camelContext) throws Exception {
        DataSource dataSource = ExampleDatabase.dataSource(camelContext);
        applySchema(dataSource, schemaResource());
        camelContext.getRegistry().bind(DATA_SOURCE, dataSource);
    }

    /** The SQL script of the tutorial's schema. */
    protected String schemaResource() {
        return "/tutorial/schema.sql";
    }

    private static void applySchema(DataSource dataSource, String resource) throws IOException, SQLException {
        String schema;
        try (InputStream in = TutorialConfiguration.class.getResourceAsStream(resource)) {
            schema = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(schema);
        }
    }
}
