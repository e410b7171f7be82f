package dev.pgnotify.camel.springboot;

import java.util.HashMap;
import java.util.Map;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A Spring Boot application with a transacted=true consumer, run in a JVM of its own by
 * {@link TransactedConsumerCrashIT} to be killed mid-stream: for each message it records a row in the same database,
 * in the message's transaction, and does a few milliseconds of database work.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class TransactedConsumerApp {

    static final String QUEUE_TABLE = "crash_it_queue";
    static final String DONE_TABLE = "crash_it_done";
    static final String CHANNEL = "crash-jobs";

    @Bean
    RouteBuilder routes(JdbcTemplate jdbc) {
        long pid = ProcessHandle.current().pid();
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:" + CHANNEL + "?transacted=true&leaseTime=2000&concurrentConsumers=2"
                     + "&maxMessagesPerPoll=20")
                        .routeId(CHANNEL)
                        .process(exchange -> {
                            jdbc.update("INSERT INTO " + DONE_TABLE + " (message_id, pid) VALUES (?, ?)",
                                    Long.parseLong(exchange.getMessage().getMessageId()), pid);
                            jdbc.execute("SELECT pg_sleep(0.004)");
                        });
            }
        };
    }

    public static void main(String[] args) throws Exception {
        PgTestServer server = PgTestServer.get();
        Map<String, Object> properties = new HashMap<>();
        properties.put("spring.datasource.url", server.jdbcUrl());
        if (server.username() != null) {
            properties.put("spring.datasource.username", server.username());
        }
        if (server.password() != null) {
            properties.put("spring.datasource.password", server.password());
        }
        properties.put("camel.component.pgnotify.table", QUEUE_TABLE);
        SpringApplication application = new SpringApplication(TransactedConsumerApp.class);
        application.setWebApplicationType(WebApplicationType.NONE);
        application.setDefaultProperties(properties);
        ConfigurableApplicationContext context = application.run(args);
        System.out.println("READY " + ProcessHandle.current().pid());
        System.out.flush();
        // runs until its standard input closes (or it is killed)
        while (System.in.read() != -1) {
            // nothing to read: the parent only closes it
        }
        context.close();
    }
}
