package dev.pgnotify.camel.springboot;

import java.time.Duration;

import dev.pgnotify.camel.test.ChildJvm;
import dev.pgnotify.camel.test.PgTestServer;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static dev.pgnotify.camel.springboot.TestDatabase.count;
import static dev.pgnotify.camel.springboot.TransactedConsumerApp.DONE_TABLE;
import static dev.pgnotify.camel.springboot.TransactedConsumerApp.QUEUE_TABLE;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A transacted=true consumer's JVM is killed (kill -9) mid-stream and a new one started: the rows its route wrote in
 * the messages' transactions equal the messages exactly, none twice, none missing. The transactions under way at the
 * kill rolled back with the connection; their messages, and those claimed but not begun, come again once their
 * leases (2 s) run out.
 */
class TransactedConsumerCrashIT {

    private static final Logger LOG = LoggerFactory.getLogger(TransactedConsumerCrashIT.class);
    private static final int MESSAGES = 2_000;

    @Test
    void afterAKilledConsumerJvmTheRowsEqualTheMessagesExactly() throws Exception {
        PgTestServer server = TestDatabase.server();
        server.execute("DROP TABLE IF EXISTS " + QUEUE_TABLE + ", " + QUEUE_TABLE + "_dead, " + DONE_TABLE + " CASCADE",
                "CREATE TABLE " + DONE_TABLE + " (message_id bigint NOT NULL, pid bigint NOT NULL)");
        long atKill;
        try (ChildJvm first = ChildJvm.start(server, ChildJvm.logFile("transacted-crash-first"),
                TransactedConsumerApp.class)) {
            // published with plain SQL, as another application would: the table's trigger wakes the consumer
            server.execute("INSERT INTO " + QUEUE_TABLE + " (channel, body_text) SELECT '"
                           + TransactedConsumerApp.CHANNEL + "', 'job ' || g FROM generate_series(1, " + MESSAGES + ") g");
            await().atMost(Duration.ofSeconds(60)).until(() -> count("SELECT count(*) FROM " + DONE_TABLE) >= 300);
            first.kill();
            atKill = count("SELECT count(*) FROM " + DONE_TABLE);
        }
        LOG.info("{} of {} messages done when the consumer JVM was killed", atKill, MESSAGES);
        assertTrue(atKill < MESSAGES, "killed mid-stream");

        long restarted = System.nanoTime();
        try (ChildJvm second = ChildJvm.start(server, ChildJvm.logFile("transacted-crash-second"),
                TransactedConsumerApp.class)) {
            await().atMost(Duration.ofSeconds(90)).until(() -> count("SELECT count(*) FROM " + QUEUE_TABLE) == 0);
        }
        LOG.info("the new consumer finished the rest in {} ms", (System.nanoTime() - restarted) / 1_000_000);
        assertEquals(MESSAGES, count("SELECT count(*) FROM " + DONE_TABLE), "none twice");
        assertEquals(MESSAGES, count("SELECT count(DISTINCT message_id) FROM " + DONE_TABLE), "none missing");
        assertEquals(0L, count("SELECT count(*) FROM " + QUEUE_TABLE + "_dead"));
        assertTrue(count("SELECT count(DISTINCT pid) FROM " + DONE_TABLE) == 2, "both JVMs did part of the work");
    }
}
