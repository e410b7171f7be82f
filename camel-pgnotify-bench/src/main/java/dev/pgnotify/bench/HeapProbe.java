package dev.pgnotify.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import dev.pgnotify.camel.test.PgTestServer;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;

/**
 * Runs in a JVM of its own, with a capped heap, started by {@link MemoryWorkloads}: "drain TABLE CHANNEL COUNT"
 * consumes a backlog written beforehand; "large TABLE BYTES" sends one binary message of that size and receives it.
 * Prints "RESULT ok PEAK_BYTES" (the peak heap use, summed over the heap pools) and exits 0, or exits 1.
 */
public final class HeapProbe {

    private HeapProbe() {
    }

    public static void main(String[] args) throws Exception {
        PgTestServer server = PgTestServer.get();
        Bench bench = new Bench(BenchOptions.fromSystemProperties(), server);
        boolean ok = switch (args[0]) {
            case "drain" -> drain(bench, args[1], args[2], Long.parseLong(args[3]));
            case "large" -> large(bench, args[1], Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException(args[0]);
        };
        System.out.println((ok ? "RESULT ok " : "RESULT failed ") + peakHeap());
        System.exit(ok ? 0 : 1);
    }

    private static boolean drain(Bench bench, String table, String channel, long count) throws Exception {
        AtomicLong received = new AtomicLong();
        CountDownLatch all = new CountDownLatch(1);
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:" + channel + "?table=" + table).process(exchange -> {
                        if (received.incrementAndGet() == count) {
                            all.countDown();
                        }
                    });
                }
            });
            camel.start();
            return all.await(300, TimeUnit.SECONDS);
        }
    }

    private static boolean large(Bench bench, String table, int bytes) throws Exception {
        byte[] body = new byte[bytes];
        new Random(3).nextBytes(body);
        byte[] sent = MessageDigest.getInstance("SHA-256").digest(body);
        AtomicReference<byte[]> receivedDigest = new AtomicReference<>();
        CountDownLatch arrived = new CountDownLatch(1);
        try (CamelContext camel = bench.camel()) {
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from("pgnotify:large?table=" + table).process(exchange -> {
                        receivedDigest.set(MessageDigest.getInstance("SHA-256")
                                .digest(exchange.getMessage().getBody(byte[].class)));
                        arrived.countDown();
                    });
                }
            });
            camel.start();
            camel.createProducerTemplate().sendBody("pgnotify:large?table=" + table, body);
            body = null;
            return arrived.await(300, TimeUnit.SECONDS) && Arrays.equals(sent, receivedDigest.get());
        }
    }

    private static long peakHeap() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
                .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    }

}
