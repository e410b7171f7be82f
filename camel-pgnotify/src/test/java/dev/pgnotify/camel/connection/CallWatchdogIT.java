package dev.pgnotify.camel.connection;

import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.pgnotify.camel.PgNotifyITSupport;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A call on a connection its thread holds already (the LISTEN connection's waits, checks and LISTENs; statements in
 * a transaction's connection) is bounded by its statement timeout from its start, whenever the watchdog looks. Such
 * calls were registered with no time allowed to wait for a connection and attached just after: a look of the watchdog
 * in between found them overdue, interrupted their thread, and the attach then aborted the connection. Seen in a
 * benchmark run: the LISTEN connection lost with "This connection has been closed." just as a workload started, and
 * 1,470 mode=notify messages sent while it reconnected never delivered. The watchdog's looks are taken here by hand,
 * so that none is left to chance.
 */
class CallWatchdogIT extends PgNotifyITSupport {

    @Test
    void aCallOnAHeldConnectionIsNotOverdueBeforeItsTimeout() throws Exception {
        CallWatchdog watchdog = new CallWatchdog(context);
        try (Connection connection = server().connect()) {
            try (BoundedCall call = watchdog.begin(this, "a statement", connection, 60_000, null)) {
                // the watchdog looks at once, and again
                watchdog.check();
                watchdog.check();
                assertFalse(call.isExpired(), "not overdue: it has a minute");
                assertFalse(Thread.interrupted(), "its thread not interrupted");
                assertTrue(connection.isValid(5), "its connection not aborted");
            }
            try (BoundedCall call = watchdog.begin(this, "another statement", connection, 60_000, null)) {
                watchdog.check();
                assertFalse(call.isExpired());
            }
            assertTrue(connection.isValid(5), "the connection goes on serving calls");
        }
    }

    /** The race itself: a watchdog that looks all the time, as a busy machine may make it look at the worst moment. */
    @Test
    void aWatchdogLookingAllTheTimeEndsNoCallOnAHeldConnectionBeforeItsTimeout() throws Exception {
        CallWatchdog watchdog = new CallWatchdog(context);
        AtomicBoolean looking = new AtomicBoolean(true);
        Thread looker = new Thread(() -> {
            while (looking.get()) {
                watchdog.check();
            }
        }, "CallWatchdogIT-looker");
        looker.start();
        int expired = 0;
        try (Connection connection = server().connect()) {
            for (int i = 0; i < 200_000 && expired == 0; i++) {
                try (BoundedCall call = watchdog.begin(this, "a wait", connection, 60_000, null)) {
                    if (call.isExpired()) {
                        expired++;
                    }
                }
            }
            assertEquals(0, expired, "no call ended before its minute");
            assertFalse(Thread.interrupted(), "the calling thread not interrupted");
            assertTrue(connection.isValid(5), "the connection not aborted");
        } finally {
            looking.set(false);
            looker.join(5_000);
        }
    }

    @Test
    void aCallOnAHeldConnectionPastItsTimeoutHasTheConnectionAborted() throws Exception {
        CallWatchdog watchdog = new CallWatchdog(context);
        try (Connection connection = server().connect()) {
            try (BoundedCall call = watchdog.begin(this, "a statement", connection, 1, null)) {
                await(Duration.ofSeconds(5)).until(() -> {
                    watchdog.check();
                    return call.isExpired();
                });
                assertTrue(connection.isClosed(), "aborted: a blocked read or write fails at once");
                assertFalse(Thread.interrupted(), "the thread that holds a connection is not interrupted");
            }
        }
    }
}
