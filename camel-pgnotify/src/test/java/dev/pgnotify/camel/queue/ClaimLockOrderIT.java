package dev.pgnotify.camel.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.PgNotifyITSupport;
import dev.pgnotify.camel.claim.WorkStore;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two consumers' claims cannot deadlock (docs/claim-engine.md, rule L): a claim statement deletes its acknowledgements
 * before it locks any row, and its locking scans (SKIP LOCKED) never wait. Seen in a benchmark drain by four consumers
 * before: "deadlock detected", each claim's DELETE waiting for a row the other's scan had locked. Forced here with two
 * sessions instead of left to chance: consumer B's claim holds a lock on the message consumer A acknowledges (a scan
 * that re-checked it after A claimed it keeps that lock until B's statement ends), A's claim runs and waits for it, and
 * B then deletes the fresh message A's claim would lock. B's delete must not wait for A.
 */
class ClaimLockOrderIT extends PgNotifyITSupport {

    private static final String TABLE = "claim_lock_order_queue";
    private static final String CHANNEL = "lock_order";

    @Test
    void aClaimWaitingForItsAcknowledgementHoldsNoLockAnotherClaimNeeds() throws Exception {
        String uri = "pgnotify:" + CHANNEL + "?table=" + TABLE;
        // the ids, in order: the one A holds (claimed, attempt 1) and acknowledges; the fresh one after it
        template.sendBody(uri, "acknowledged by A");
        template.sendBody(uri, "fresh");
        long acknowledged;
        long fresh;
        try (Connection setup = server().connect(); Statement statement = setup.createStatement()) {
            statement.execute("UPDATE " + TABLE + " SET attempts = 1, available_at = now() + interval '1 hour'"
                              + " WHERE id = (SELECT min(id) FROM " + TABLE + ")");
            acknowledged = ((Number) server().queryValue("SELECT min(id) FROM " + TABLE)).longValue();
            fresh = ((Number) server().queryValue("SELECT max(id) FROM " + TABLE)).longValue();
        }
        QueueWorkStore store = store(uri);
        WorkStore.Item item = new WorkStore.Item(acknowledged, 1, fenceOf(acknowledged),
                List.of(new WorkStore.StoredMessage(acknowledged, null, null, null, true)), 0);
        WorkStore.ClaimRequest request = new WorkStore.ClaimRequest(List.of(item), new Long[0], 0, 100, 1 << 20,
                30_000, 5, true, 0, false);

        // B's claim scan locked the row A acknowledges; B's own acknowledgement is the fresh message, which A's claim
        // must not have locked while it waits
        assertEquals(List.of(), interleave(store, request, acknowledged, fresh, "B deletes at once, without waiting for A")
                .items(), "nothing left for A to claim");
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE)).longValue(),
                "A's acknowledgement and B's both done");
    }

    /**
     * The keyed claim, whose successors scan (the next message of each key acknowledged) reads the acknowledgements
     * itself and has no gate of its own: A acknowledges two keyed messages, the second of which B holds; A's delete
     * has deleted the first and waits for the second. A must not have locked the first one's successor meanwhile (it
     * would, were the successors scan pulling the delete's rows as they come), or B's delete of it waits for A: a
     * deadlock.
     */
    @Test
    void aKeyedClaimWaitingForItsAcknowledgementHoldsNoSuccessorAnotherClaimNeeds() throws Exception {
        String uri = "pgnotify:" + CHANNEL + "?table=" + TABLE;
        server().execute("DELETE FROM " + TABLE);
        template.sendBodyAndHeader(uri, "first of k1, acknowledged by A", PgNotifyConstants.KEY, "k1");
        template.sendBodyAndHeader(uri, "first of k2, acknowledged by A, held by B", PgNotifyConstants.KEY, "k2");
        template.sendBodyAndHeader(uri, "next of k1", PgNotifyConstants.KEY, "k1");
        List<Long> ids;
        try (Connection setup = server().connect(); Statement statement = setup.createStatement()) {
            statement.execute("UPDATE " + TABLE + " SET attempts = 1, available_at = now() + interval '1 hour'"
                              + " WHERE id IN (SELECT id FROM " + TABLE + " ORDER BY id LIMIT 2)");
            try (var rs = statement.executeQuery("SELECT id FROM " + TABLE + " ORDER BY id")) {
                ids = new java.util.ArrayList<>();
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
        }
        assertEquals(3, ids.size());
        QueueWorkStore store = store(uri);
        List<WorkStore.Item> acknowledged = List.of(keyed(ids.get(0), "k1"), keyed(ids.get(1), "k2"));
        // the frontier past every message: the successors scan is the only one that could find the next of k1
        WorkStore.ClaimRequest request = new WorkStore.ClaimRequest(acknowledged, new Long[0], ids.get(2), 100,
                1 << 20, 30_000, 5, true, 0, false);

        assertEquals(List.of(), interleave(store, request, ids.get(1), ids.get(2),
                "B deletes the next of k1 at once, without waiting for A").items(), "nothing left for A to claim");
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE)).longValue(),
                "A's acknowledgements and B's all done");
    }

    /**
     * The prioritized claim, whose priority scan and, when it filled a batch, the fresh scan's gate read the
     * acknowledgements too: the same interleaving, with a third message B leaves alone, which A then claims. With a
     * batch of one the priority scan fills it and the claim is crowded (its fresh scan does not run); with a batch of
     * a hundred it is not (the fresh scan finds that message too).
     */
    @Test
    void aPrioritizedClaimWaitingForItsAcknowledgementHoldsNoLockAnotherClaimNeeds() throws Exception {
        String uri = "pgnotify:" + CHANNEL + "?table=" + TABLE;
        for (int batch : new int[] { 1, 100 }) {
            server().execute("DELETE FROM " + TABLE);
            long acknowledged = sendPrioritized(uri, "acknowledged by A");
            long fresh = sendPrioritized(uri, "fresh");
            long kept = sendPrioritized(uri, "left for A");
            server().execute("UPDATE " + TABLE + " SET attempts = 1, available_at = now() + interval '1 hour'"
                             + " WHERE id = " + acknowledged);
            QueueWorkStore store = store(uri);
            try (Connection connection = server().connect()) {
                store.refresh(connection);
            }
            WorkStore.Item item = new WorkStore.Item(acknowledged, 1, fenceOf(acknowledged),
                    List.of(new WorkStore.StoredMessage(acknowledged, null, null, null, true)), 0);
            WorkStore.ClaimRequest request = new WorkStore.ClaimRequest(List.of(item), new Long[0], 0, batch,
                    1 << 20, 30_000, 5, true, 0, false);
            WorkStore.Claim claim = interleave(store, request, acknowledged, fresh,
                    "B deletes at once, without waiting for A (batch " + batch + ")");
            assertEquals(List.of(kept), claim.items().stream().map(WorkStore.Item::id).toList(),
                    "A claims the message B left (batch " + batch + ")");
            assertEquals(batch == 1 ? 0 : 1, claim.freshClaimed(), batch == 1
                    ? "crowded: the fresh scan did not run" : "not crowded: the fresh scan found it too");
            assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE)).longValue(),
                    "A's acknowledgement and B's both done (batch " + batch + ")");
        }
    }

    /**
     * A lease renewal and a claim acknowledging the same items cannot deadlock (rule "Lock order"): both lock them in
     * ascending id order, whatever order the table's pages hold them in. Forced: the items lie in the table in
     * descending id order, where a renewal through a sequential or bitmap scan locks them from the highest id down; a
     * third session holds the middle one; the renewal starts and waits for it, then the claim starts and waits too.
     * Once the middle one is let go, both must end. A renewal locking in page order held the upper half and waited for
     * the middle one while the claim's delete took the lower half and waited for it too; the renewal, first in line,
     * then waited for the lower half: "deadlock detected" (seen in the benchmark's job-queue shape once claims deleted
     * their acknowledgements in id order).
     */
    @Test
    void aLeaseRenewalAndAClaimAcknowledgingTheSameItemsCannotDeadlock() throws Exception {
        renewalAndClaimOverTheSameItems(() -> server().connect());
    }

    /**
     * As above, on connections that prepare nothing on the server (behind PgBouncer in transaction mode,
     * prepareThreshold=0): the claim is planned on each execution ({@code ItemSql.PLANNED_EACH_TIME}), its deletes in id
     * order all the same.
     */
    @Test
    void aLeaseRenewalAndAClaimAcknowledgingTheSameItemsCannotDeadlockWhenNothingIsPrepared() throws Exception {
        String url = server().jdbcUrl() + (server().jdbcUrl().contains("?") ? "&" : "?") + "prepareThreshold=0";
        renewalAndClaimOverTheSameItems(
                () -> java.sql.DriverManager.getConnection(url, server().username(), server().password()));
    }

    private interface Connections {
        Connection open() throws SQLException;
    }

    private void renewalAndClaimOverTheSameItems(Connections connections) throws Exception {
        String uri = "pgnotify:" + CHANNEL + "?table=" + TABLE;
        template.sendBody(uri, "resolves the queue");
        server().execute("DELETE FROM " + TABLE);
        int count = 2_000;
        long first = 1_000_001;
        long last = first + count - 1;
        long middle = first + count / 2;
        server().execute("INSERT INTO " + TABLE + " (id, channel, body_text, attempts, available_at)"
                         + " SELECT g, '" + CHANNEL + "', 'item ' || g, 1, now() + interval '1 hour'"
                         + " FROM generate_series(" + last + ", " + first + ", -1) g");
        server().execute("ANALYZE " + TABLE);
        List<WorkStore.Item> items = new java.util.ArrayList<>();
        List<WorkStore.Lease> leases = new java.util.ArrayList<>();
        try (Connection setup = server().connect(); Statement statement = setup.createStatement();
             var rs = statement.executeQuery("SELECT q.id, (extract(epoch FROM q.created_at) * 1000000)::bigint FROM "
                                             + TABLE + " q ORDER BY q.id")) {
            while (rs.next()) {
                long id = rs.getLong(1);
                items.add(new WorkStore.Item(id, 1, rs.getLong(2),
                        List.of(new WorkStore.StoredMessage(id, null, null, null, true)), 0));
                leases.add(new WorkStore.Lease(id, 1, rs.getLong(2), 0));
            }
        }
        assertEquals(count, items.size());
        QueueWorkStore store = store(uri);
        WorkStore.ClaimRequest request = new WorkStore.ClaimRequest(items, new Long[0], last, 100, 1 << 20, 30_000, 5,
                true, 0, false);
        try (Connection holder = server().connect(); Connection renewer = connections.open();
             Connection claimer = connections.open()) {
            holder.setAutoCommit(false);
            try (Statement statement = holder.createStatement()) {
                statement.execute("SELECT id FROM " + TABLE + " WHERE id = " + middle + " FOR UPDATE");
            }
            CompletableFuture<Void> renewal = startWaitingForALock(renewer, () -> {
                store.renew(renewer, leases, 30_000);
                return null;
            });
            CompletableFuture<WorkStore.Claim> claim = startWaitingForALock(claimer, () -> store.claim(claimer, request));
            holder.commit();
            renewal.get(20, TimeUnit.SECONDS);
            assertEquals(List.of(), claim.get(20, TimeUnit.SECONDS).items(), "nothing fresh to claim");
        }
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM " + TABLE)).longValue(),
                "every acknowledgement done, after the renewal");
    }

    private long sendPrioritized(String uri, String body) {
        return template.send(uri, exchange -> {
            exchange.getMessage().setBody(body);
            exchange.getMessage().setHeader(PgNotifyConstants.PRIORITY, 1);
        }).getMessage().getHeader(PgNotifyConstants.MESSAGE_ID, Long.class);
    }

    private QueueWorkStore store(String uri) throws Exception {
        PgNotifyEndpoint endpoint = context.getEndpoint(uri, PgNotifyEndpoint.class);
        QueueResources queue = endpoint.resources().get(QueueResources.class, () -> {
            throw new IllegalStateException("the producer resolved the queue already");
        });
        return new QueueWorkStore(queue, CHANNEL);
    }

    /**
     * Session B holds a lock on {@code lockedByB} (as a claim's scan that re-checked a row does until its statement
     * ends); A's claim runs and waits for it; B then deletes {@code deletedByB}, which must not wait for A; once B
     * commits, A's claim ends: its claim is returned.
     */
    private WorkStore.Claim interleave(QueueWorkStore store, WorkStore.ClaimRequest request, long lockedByB, long deletedByB,
                            String deletesAtOnce) throws Exception {
        try (Connection b = server().connect(); Connection a = server().connect()) {
            b.setAutoCommit(false);
            try (Statement statement = b.createStatement()) {
                statement.execute("SET LOCAL lock_timeout = '5s'");
                statement.execute("SELECT id FROM " + TABLE + " WHERE id = " + lockedByB + " FOR UPDATE");
            }
            CompletableFuture<WorkStore.Claim> claimOfA = startWaitingForALock(a, () -> store.claim(a, request));
            try (PreparedStatement delete = b.prepareStatement("DELETE FROM " + TABLE + " WHERE id = ?")) {
                delete.setLong(1, deletedByB);
                assertEquals(1, delete.executeUpdate(), deletesAtOnce);
            }
            b.commit();
            return claimOfA.get(10, TimeUnit.SECONDS);
        }
    }

    private static WorkStore.Item keyed(long id, String key) throws SQLException {
        return new WorkStore.Item(id, 1, fenceOf(id),
                List.of(new WorkStore.StoredMessage(id, null, null, null, true, key, false)), 0);
    }

    /** The row's fence as a claim reads it (ItemSql.FENCE): with the attempt, what an acknowledgement names. */
    private static long fenceOf(long id) throws SQLException {
        return ((Number) server().queryValue("SELECT (extract(epoch FROM q.created_at) * 1000000)::bigint FROM " + TABLE
                                             + " q WHERE q.id = " + id)).longValue();
    }

    /** A statement of a session, run on another thread. */
    private interface SessionCall<T> {
        T run() throws SQLException;
    }

    /** Runs the call on another thread, and returns once its session waits for a lock. */
    private static <T> CompletableFuture<T> startWaitingForALock(Connection session, SessionCall<T> call)
            throws Exception {
        int pid = backendPid(session);
        CompletableFuture<T> result = CompletableFuture.supplyAsync(() -> {
            try {
                return call.run();
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        awaitLockWait(pid);
        return result;
    }
}
