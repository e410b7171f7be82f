package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyHeaderFilterStrategy;
import dev.pgnotify.camel.support.MessageCodec;
import dev.pgnotify.camel.support.SupportSql;
import org.apache.camel.spi.HeaderFilterStrategy;

/**
 * What a producer or consumer in mode=queue works with, resolved once the database is reachable: the queue table
 * (in the connection's current schema when none was named), its statements and the message codec.
 */
public final class QueueResources {

    private final QueueTable table;
    private final QueueSql sql;
    private final MessageCodec codec;

    private QueueResources(QueueTable table, QueueSql sql, MessageCodec codec) {
        this.table = table;
        this.sql = sql;
        this.codec = codec;
    }

    /** Creates or verifies the queue's schema on this database. */
    public static QueueResources resolve(DataSource dataSource, PgNotifyConfiguration configuration)
            throws SQLException {
        QueueTable table = QueueTable.of(configuration.getTable(), configuration.getDeadLetterTable());
        try (Connection connection = dataSource.getConnection()) {
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery(SupportSql.CURRENT_SCHEMA)) {
                rs.next();
                table = table.inSchema(rs.getString(1));
            }
            QueueSchema.ensure(connection, table, configuration.isCreateSchema());
        }
        HeaderFilterStrategy headerFilter = configuration.getHeaderFilterStrategy() != null
                ? configuration.getHeaderFilterStrategy() : new PgNotifyHeaderFilterStrategy();
        return new QueueResources(table, new QueueSql(table),
                new MessageCodec(configuration.isStoreJsonAsJsonb(), headerFilter));
    }

    QueueTable table() {
        return table;
    }

    QueueSql sql() {
        return sql;
    }

    MessageCodec codec() {
        return codec;
    }
}
