package dev.pgnotify.camel;

import java.io.InputStream;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;

/**
 * A queue or topic consumer in a JVM of its own, started by tests ({@link dev.pgnotify.camel.test.ChildJvm}) to be killed or to compete
 * with the test's own consumer. It records what it processes in a {@link ProcessedLog}, prints READY once consuming,
 * and stops when its standard input closes.
 * <p>
 * Arguments: channel, endpoint options (table=x, or mode=topic&amp;group=g&amp;topicTable=t), processed-log table,
 * concurrentConsumers, maxMessagesPerPoll, leaseTime (ms), work per message (ms).
 */
public final class ConsumerProcess {

    private ConsumerProcess() {
    }

    public static void main(String[] args) throws Exception {
        String channel = args[0];
        String options = args[1];
        String processedTable = args[2];
        int threads = Integer.parseInt(args[3]);
        int batch = Integer.parseInt(args[4]);
        long leaseTime = Long.parseLong(args[5]);
        long workMillis = Long.parseLong(args[6]);

        PgTestServer server = PgTestServer.get();
        String name = "child-" + ProcessHandle.current().pid();
        try (ProcessedLog processed = new ProcessedLog(server, processedTable, name);
             CamelContext context = new DefaultCamelContext()) {
            pointAt(context, server);
            context.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:" + channel + "?" + options + "&concurrentConsumers=" + threads
                         + "&maxMessagesPerPoll=" + batch + "&leaseTime=" + leaseTime + "&pollInterval=200")
                            .process(processed)
                            .process(exchange -> simulateWork(workMillis));
                }
            });
            context.start();
            System.out.println("READY " + name);
            System.out.flush();
            InputStream stdin = System.in;
            while (stdin.read() >= 0) {
                // the test closes our standard input to stop us
            }
        }
    }

    /** Points the context's pgnotify component at the test server. */
    static void pointAt(CamelContext context, PgTestServer server) {
        PgNotifyComponent component = context.getComponent("pgnotify", PgNotifyComponent.class);
        component.getConfiguration().setJdbcUrl(server.jdbcUrl());
        component.getConfiguration().setUsername(server.username());
        component.getConfiguration().setPassword(server.password());
    }

    /** Stands for the time a real route spends on a message. */
    private static void simulateWork(long millis) throws InterruptedException {
        if (millis > 0) {
            TimeUnit.MILLISECONDS.sleep(millis);
        }
    }
}
