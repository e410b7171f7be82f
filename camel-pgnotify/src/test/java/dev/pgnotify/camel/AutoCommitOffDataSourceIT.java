package dev.pgnotify.camel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The application's DataSource hands out connections with auto-commit off (HikariCP's autoCommit=false, a common
 * setting with JPA): pgnotify's own statements outside any transaction of the application must still be committed.
 */
class AutoCommitOffDataSourceIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(AutoCommitOffDataSourceIT.class);
    private static final String TABLE = "autocommit_off_it_queue";
    private static final String SEND = "pgnotify:autocommit-off?table=" + TABLE;

    private final Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
    private HikariDataSource dataSource;

    @Override
    protected CamelContext createCamelContext() throws Exception {
        CamelContext context = super.createCamelContext();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server().jdbcUrl());
        config.setUsername(server().username());
        config.setPassword(server().password());
        config.setAutoCommit(false);
        config.setMaximumPoolSize(5);
        config.setPoolName("autocommit-off-it");
        dataSource = new HikariDataSource(config);
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(null);
        component.getConfiguration().setDataSource(dataSource);
        return context;
    }

    @AfterEach
    void closeDataSource() {
        if (dataSource != null) {
            dataSource.close();
        }
    }

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return new RouteBuilder() {
            @Override
            public void configure() {
                from(SEND + "&pollInterval=200").routeId("consumer")
                        .process(exchange -> deliveries.computeIfAbsent(exchange.getMessage().getBody(String.class),
                                k -> new AtomicInteger()).incrementAndGet());
            }
        };
    }

    /**
     * Twenty plain sends, outside any transaction: each must be committed (sent is sent), delivered, and acknowledged
     * (delivered once, the table empty after). Today each send returns normally, its INSERT is never committed and the
     * pool rolls it back when the connection is returned: the messages are lost without a word.
     */
    @Test
    void sendsOnADataSourceWithAutoCommitOffAreCommittedAndDeliveredOnce() throws Exception {
        List<String> bodies = java.util.stream.IntStream.range(0, 20).mapToObj(i -> "m" + i).toList();
        for (String body : bodies) {
            template.sendBody(SEND, body);
        }
        try {
            await(Duration.ofSeconds(5)).alias("every message sent delivered")
                    .until(() -> deliveries.keySet().containsAll(bodies));
            await(Duration.ofSeconds(5)).alias("every message acknowledged")
                    .until(() -> count("SELECT count(*) FROM " + TABLE) == 0);
        } finally {
            LOG.info("Of 20 sends on a DataSource with auto-commit off: {} delivered; {} rows left in the queue",
                    deliveries.size(), count("SELECT count(*) FROM " + TABLE));
        }
        for (String body : bodies) {
            assertEquals(1, deliveries.get(body).get(), body + " delivered once");
        }
    }

    private static long count(String sql) throws Exception {
        return ((Number) server().queryValue(sql)).longValue();
    }
}
