package dev.pgnotify.camel;

import java.io.InputStream;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;

/**
 * A keyed queue's consumer in a JVM of its own, competing with the test's ({@link KeyedOrderIT}): it logs its work in
 * {@link KeyedWorkLog}. Arguments: channel, table, threads.
 */
public final class KeyedConsumerProcess {

    private KeyedConsumerProcess() {
    }

    public static void main(String[] args) throws Exception {
        PgTestServer server = PgTestServer.get();
        String name = "child-" + ProcessHandle.current().pid();
        try (CamelContext context = new DefaultCamelContext()) {
            ConsumerProcess.pointAt(context, server);
            context.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:" + args[0] + "?table=" + args[1] + "&concurrentConsumers=" + args[2]
                         + "&maxMessagesPerPoll=20&pollInterval=200")
                            .process(new KeyedWorkLog(server, name));
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
}
