package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.WorkStore;
import org.apache.camel.Exchange;
import org.apache.camel.RoutesBuilder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A prioritized claim whose priority scan fills the batch does not run the fresh scan (QueueSql): the fresh
 * candidates could not be taken, and locking them anyway locked the same waiting messages claim after claim while a
 * backlog of higher priorities drained. It then reports the fresh scan as not having examined everything, so that the
 * consumer's frontier stays below the messages it did not look at. A claim whose priority scan comes back short runs
 * the fresh scan as before.
 */
class PrioritizedClaimIT extends PgNotifyITSupport {

    private static final String TABLE = "prioritized_claim_queue";
    private static final String CHANNEL = "prioritized_claim";
    private static final String URI = "pgnotify:" + CHANNEL + "?table=" + TABLE;

    @Override
    protected RoutesBuilder createRouteBuilder() throws Exception {
        dropQueue(TABLE);
        return super.createRouteBuilder();
    }

    @Test
    void aFullBatchOfHigherPrioritiesLocksNoWaitingMessageAndLeavesTheFrontier() throws Exception {
        List<Long> plain = send(10, 0);
        List<Long> urgent = send(10, 1);
        QueueWorkStore store = store();
        try (Connection claiming = server().connect()) {
            store.refresh(claiming);
            claiming.setAutoCommit(false);
            WorkStore.Claim claim = store.claim(claiming, request(5));
            assertEquals(urgent.subList(0, 5), ids(claim), "the five first urgent messages");
            assertEquals(5, claim.freshCandidates(), "counted as a full fresh scan: not all examined");
            assertEquals(0, claim.freshClaimed());
            assertEquals(0, claim.lastFreshClaimed(), "the frontier may not move");
            // while the claim's transaction is open, another session can lock every waiting message: none is locked
            assertEquals(plain, lockable(0), "no unprioritized message locked by the claim");
            claiming.rollback();
        }
    }

    @Test
    void aShortPriorityScanLetsTheFreshScanFillTheBatch() throws Exception {
        List<Long> plain = send(10, 0);
        List<Long> urgent = send(3, 1);
        QueueWorkStore store = store();
        try (Connection claiming = server().connect()) {
            store.refresh(claiming);
            claiming.setAutoCommit(false);
            WorkStore.Claim claim = store.claim(claiming, request(5));
            List<Long> expected = new ArrayList<>(urgent);
            expected.addAll(plain.subList(0, 2));
            assertEquals(expected, ids(claim), "the urgent messages first, then the first waiting ones");
            assertEquals(5, claim.freshCandidates(), "the fresh scan ran and found a batch");
            assertEquals(2, claim.freshClaimed());
            assertEquals(plain.get(1), claim.lastFreshClaimed(), "the frontier may pass the two it took, no more");
            claiming.rollback();
        }
    }

    private List<Long> send(int count, int priority) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String body = "priority " + priority + " #" + i;
            Exchange sent = template.send(URI, exchange -> {
                exchange.getMessage().setBody(body);
                exchange.getMessage().setHeader(PgNotifyConstants.PRIORITY, priority);
            });
            ids.add(sent.getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class));
        }
        return ids;
    }

    private static WorkStore.ClaimRequest request(int batch) {
        // nothing acknowledged, nothing named; frontier and bound 0: every message lies above both
        return new WorkStore.ClaimRequest(List.of(), new Long[0], 0, batch, 1 << 20, 30_000, 5, true, 0, false);
    }

    private QueueWorkStore store() throws Exception {
        PgNotifyEndpoint endpoint = context.getEndpoint(URI, PgNotifyEndpoint.class);
        QueueResources queue = endpoint.resources().get(QueueResources.class, () -> {
            throw new IllegalStateException("the producer resolved the queue already");
        });
        return new QueueWorkStore(queue, CHANNEL);
    }

    private static List<Long> ids(WorkStore.Claim claim) {
        return claim.items().stream().map(WorkStore.Item::id).toList();
    }

    /** The messages of that priority another session can lock now (SKIP LOCKED), in id order. */
    private static List<Long> lockable(int priority) throws Exception {
        try (Connection other = server().connect(); Statement statement = other.createStatement()) {
            other.setAutoCommit(false);
            List<Long> ids = new ArrayList<>();
            try (var rs = statement.executeQuery("SELECT id FROM " + TABLE + " WHERE priority = " + priority
                                                 + " ORDER BY id FOR UPDATE SKIP LOCKED")) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
            other.rollback();
            return ids;
        }
    }
}
