package dev.pgnotify.camel;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No size limit below PostgreSQL's own: 50 MB bodies round-trip, JSON stays queryable.
 */
class QueueLargeBodiesIT extends PgNotifyITSupport {

    private static final Logger LOG = LoggerFactory.getLogger(QueueLargeBodiesIT.class);
    private static final String TABLE = "large_it_queue";
    private static final int SIZE = 50 * 1024 * 1024;

    @Override
    protected RoutesBuilder createRouteBuilder() {
        return new RouteBuilder() {
            @Override
            public void configure() {
                from("pgnotify:large_json?table=" + TABLE).routeId("json").autoStartup(false).to("mock:json");
                from("pgnotify:large_binary?table=" + TABLE).to("mock:binary");
            }
        };
    }

    @Test
    void fiftyMegabyteJsonRoundTripsAndIsQueryable() throws Exception {
        String json = largeJson();
        assertTrue(json.length() >= SIZE, "a 50 MB document");
        template.sendBody("pgnotify:large_json?table=" + TABLE, json);

        // stored as jsonb: SQL can reach into it
        assertEquals("item-123456", server().queryValue(
                "SELECT body_json -> 'items' -> 123456 ->> 'name' FROM " + TABLE + " WHERE channel = 'large_json'"));

        MockEndpoint mock = getMockEndpoint("mock:json");
        mock.expectedMessageCount(1);
        mock.setResultWaitTime(60_000);
        context.getRouteController().startRoute("json");
        mock.assertIsSatisfied();

        String received = mock.getReceivedExchanges().get(0).getMessage().getBody(String.class);
        ObjectMapper mapper = new ObjectMapper();
        assertEquals(mapper.readTree(json), mapper.readTree(received), "the same JSON document");
    }

    @Test
    void fiftyMegabyteBinaryRoundTripsByteForByte() throws Exception {
        byte[] binary = new byte[SIZE];
        new Random(42).nextBytes(binary);
        MockEndpoint mock = getMockEndpoint("mock:binary");
        mock.expectedMessageCount(1);
        mock.setResultWaitTime(60_000);

        long start = System.nanoTime();
        template.sendBody("pgnotify:large_binary?table=" + TABLE, binary);
        mock.assertIsSatisfied();
        LOG.info("50 MB binary body sent and received in {} ms", (System.nanoTime() - start) / 1_000_000);

        byte[] received = assertInstanceOf(byte[].class, mock.getReceivedExchanges().get(0).getMessage().getBody());
        assertEquals(sha256(binary), sha256(received));
        assertArrayEquals(binary, received);
    }

    private static String largeJson() {
        StringBuilder json = new StringBuilder(SIZE + 1024).append("{\"kind\":\"large\",\"items\":[");
        for (int i = 0; json.length() < SIZE; i++) {
            if (i > 0) {
                json.append(',');
            }
            json.append("{\"name\":\"item-").append(i).append("\",\"value\":").append(i * 7)
                    .append(",\"tags\":[\"a\",\"b\"],\"text\":\"lorem ipsum dolor sit amet\"}");
        }
        return json.append("]}").toString();
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

}
