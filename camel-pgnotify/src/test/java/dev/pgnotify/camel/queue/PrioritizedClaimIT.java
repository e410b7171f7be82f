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
 * consumer's frontier stays below the messages it did not look at. A claim whose priority scan comes back short, or
 * whose frontier lies below the bound the priority scan starts from less one (ids the priority scan does not reach),
 * runs the fresh scan as before. Messages named by id and the acknowledgements are looked at whatever the case.
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
            // the frontier just below the bound (the first message): the priority scan reached every id the fresh
            // scan could, the closest the two may lie for the claim to be crowded
            WorkStore.Claim claim = store.claim(claiming, request(5, plain.get(0) - 1, plain.get(0)));
            assertEquals(urgent.subList(0, 5), ids(claim), "the five first urgent messages");
            assertEquals(5, claim.freshCandidates(), "counted as a full fresh scan: not all examined");
            assertEquals(0, claim.freshClaimed());
            assertEquals(plain.get(0) - 1, claim.lastFreshClaimed(), "the frontier may not move");
            // while the claim's transaction is open, another session can lock every waiting message: none is locked
            assertEquals(plain, lockable(0), "no unprioritized message locked by the claim");
            claiming.rollback();
        }
    }

    @Test
    void aShortPriorityScanLetsTheFreshScanFillTheBatch() throws Exception {
        // one short of a batch
        List<Long> urgent = send(4, 1);
        List<Long> plain = send(2, 0);
        QueueWorkStore store = store();
        try (Connection claiming = server().connect()) {
            store.refresh(claiming);
            claiming.setAutoCommit(false);
            // the frontier past the urgent messages (the priority scan finds them from the bound): the fresh scan
            // finds the two waiting ones only
            WorkStore.Claim claim = store.claim(claiming, request(5, urgent.get(3), 0));
            List<Long> expected = new ArrayList<>(urgent);
            expected.add(plain.get(0));
            assertEquals(expected, ids(claim), "the urgent messages first, then the first waiting one");
            assertEquals(2, claim.freshCandidates(), "the fresh scan ran, and came back short");
            assertEquals(1, claim.freshClaimed());
            assertEquals(plain.get(0), claim.lastFreshClaimed(), "the frontier may pass the one it took, no more");
            claiming.rollback();
        }
    }

    /**
     * Between the frontier and the bound (below which the sweep found nothing unfinished) may lie a row the priority
     * scan does not see: here one whose id was drawn before the messages above the bound, inserted after them. While
     * the frontier lies below the bound the claim is not crowded: the fresh scan finds that row.
     */
    @Test
    void aRowBelowTheBoundIsFoundByTheFreshScanEvenBehindAFullBatch() throws Exception {
        send(1, 0);
        server().execute("DELETE FROM " + TABLE);
        long drawnEarly = ((Number) server().queryValue(
                "SELECT nextval(pg_get_serial_sequence('" + TABLE + "', 'id'))")).longValue();
        List<Long> urgent = send(10, 1);
        server().execute("INSERT INTO " + TABLE + " (id, channel, body_text, priority) VALUES (" + drawnEarly + ", '"
                         + CHANNEL + "', 'drawn early', 9)");
        QueueWorkStore store = store();
        try (Connection claiming = server().connect()) {
            store.refresh(claiming);
            claiming.setAutoCommit(false);
            // the sweep measured the bound before the early row committed: just above it; the frontier just below
            // it, the farthest the two may lie apart for the claim to be crowded, plus one
            WorkStore.Claim claim = store.claim(claiming, request(5, drawnEarly - 1, drawnEarly + 1));
            assertEquals(List.of(drawnEarly, urgent.get(0), urgent.get(1), urgent.get(2), urgent.get(3)), ids(claim),
                    "the early row, of the highest priority, first");
            claiming.rollback();
        }
    }

    /** The keyed claim (it acknowledges a keyed message) behind a full batch locks no waiting message either. */
    @Test
    void aKeyedClaimBehindAFullBatchLocksNoWaitingMessage() throws Exception {
        template.send(URI, exchange -> {
            exchange.getMessage().setBody("keyed");
            exchange.getMessage().setHeader(PgNotifyConstants.KEY, "k");
            exchange.getMessage().setHeader(PgNotifyConstants.PRIORITY, 9);
        });
        QueueWorkStore store = store();
        WorkStore.Item keyed;
        try (Connection first = server().connect()) {
            store.refresh(first);
            first.setAutoCommit(false);
            keyed = store.claim(first, request(1, 0, 0)).items().get(0);
            first.commit();
        }
        assertEquals("k", keyed.messages().get(0).key());
        List<Long> plain = send(10, 0);
        List<Long> urgent = send(10, 1);
        try (Connection claiming = server().connect()) {
            claiming.setAutoCommit(false);
            WorkStore.Claim claim = store.claim(claiming, new WorkStore.ClaimRequest(List.of(keyed), new Long[0], 0,
                    5, 1 << 20, 30_000, 5, true, 0, false));
            assertEquals(urgent.subList(0, 5), ids(claim), "the five first urgent messages");
            assertEquals(0, claim.freshClaimed());
            assertEquals(plain, lockable(0), "no unprioritized message locked by the claim");
            claiming.rollback();
        }
    }

    /**
     * A due message named by id (a retry that fell due, one the sweep found) is looked up whatever the case, even below
     * the bound: here a prioritized one, first by its priority, in a crowded claim.
     */
    @Test
    void aDueMessageNamedByIdIsClaimedBehindAFullBatch() throws Exception {
        long named = send(1, 2).get(0);
        List<Long> urgent = send(10, 1);
        QueueWorkStore store = store();
        try (Connection claiming = server().connect()) {
            store.refresh(claiming);
            claiming.setAutoCommit(false);
            // the bound above the named message, the frontier at it: crowded
            WorkStore.Claim claim = store.claim(claiming, request(5, named, named + 1, named));
            assertEquals(List.of(named, urgent.get(0), urgent.get(1), urgent.get(2), urgent.get(3)), ids(claim),
                    "the named message, of the highest priority, first");
            assertEquals(0, claim.freshClaimed());
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

    /** Nothing acknowledged; the due messages named by id, if any. */
    private static WorkStore.ClaimRequest request(int batch, long frontier, long unfinishedFrom, Long... due) {
        return new WorkStore.ClaimRequest(List.of(), due, frontier, batch, 1 << 20, 30_000, 5, true, unfinishedFrom,
                false);
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
