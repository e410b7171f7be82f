package dev.pgnotify.camel.claim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model of what the claim cursor relies on in PostgreSQL: transaction ids assigned in increasing order, a sequence
 * that draws increasing ids (with gaps), transactions that draw ids after they have their own id (the table's
 * trigger), commit and abort, and snapshots (xmin:xmax:xip) of the transactions in progress. Histories are replayed on
 * it by the property tests; nothing here knows the cursor.
 * <p>
 * Snapshots are PostgreSQL's, not an idealised version: xmax is one past the highest transaction id that has
 * <em>ended</em> (latestCompletedXid + 1, not the next id to be assigned), and xip lists only the transactions in
 * progress below it. The newest transactions in progress appear in no list: a snapshot tells them only by their id
 * being at or above xmax. (An earlier model used the next id as xmax and listed every transaction in progress; the
 * cursor then passed ids of a transaction that was newer than everything ended.)
 */
final class ClusterModel {

    enum State {
        ACTIVE,
        COMMITTED,
        ABORTED
    }

    static final class Txn {
        final long xid;
        /** Whether it ever writes into the table (an idle session holding an xid, a report writing elsewhere, does not). */
        final boolean writer;
        final List<Long> ids = new ArrayList<>();
        State state = State.ACTIVE;

        Txn(long xid, boolean writer) {
            this.xid = xid;
            this.writer = writer;
        }

        boolean ended() {
            return state != State.ACTIVE;
        }
    }

    private long nextXid;
    /** One past the highest transaction id that has ended: a snapshot's xmax. */
    private long xmax;
    private long lastId;
    private final Map<Long, Txn> transactions = new LinkedHashMap<>();
    /** Every id drawn, with the transaction that drew it. */
    private final TreeMap<Long, Txn> owners = new TreeMap<>();

    ClusterModel(long firstXid, long firstId) {
        this.nextXid = firstXid;
        this.xmax = firstXid;
        this.lastId = firstId - 1;
    }

    Txn begin(boolean writer) {
        Txn txn = new Txn(nextXid++, writer);
        transactions.put(txn.xid, txn);
        return txn;
    }

    /** Draws {@code count} ids for the transaction, leaving a gap of {@code gap} ids before them. */
    void draw(Txn txn, int count, int gap) {
        if (!txn.writer || txn.ended()) {
            throw new IllegalStateException("only an active writer draws");
        }
        lastId += gap;
        for (int i = 0; i < count; i++) {
            lastId++;
            txn.ids.add(lastId);
            owners.put(lastId, txn);
        }
    }

    void end(Txn txn, boolean commit) {
        txn.state = commit ? State.COMMITTED : State.ABORTED;
        xmax = Math.max(xmax, txn.xid + 1);
    }

    long lastId() {
        return lastId;
    }

    List<Txn> active() {
        return transactions.values().stream().filter(t -> !t.ended()).toList();
    }

    ClaimCursor.Snapshot snapshot() {
        return snapshotOf(null);
    }

    /** The snapshot a transaction takes: its own id is in no list of it (PostgreSQL leaves it out). */
    ClaimCursor.Snapshot snapshotOf(Txn own) {
        long[] xip = active().stream().filter(t -> t != own).mapToLong(t -> t.xid).filter(xid -> xid < xmax)
                .sorted().toArray();
        long xmin = active().stream().mapToLong(t -> t.xid).min().orElse(xmax);
        return new ClaimCursor.Snapshot(Math.min(xmin, xmax), xmax, xip);
    }

    /** The ids drawn up to {@code upTo}, each with its transaction. */
    Map<Long, Txn> drawnUpTo(long upTo) {
        return owners.headMap(upTo, true);
    }

    Txn transaction(long xid) {
        return transactions.get(xid);
    }

    /** What the sweep's check would find for this transaction now: see TransactionCheck. */
    TransactionCheck.State check(long xid) {
        Txn txn = transactions.get(xid);
        if (txn == null) {
            // a claim's own transaction, or one the model never saw: ended
            return TransactionCheck.State.COMMITTED;
        }
        return switch (txn.state) {
            case ACTIVE -> txn.ids.isEmpty() ? TransactionCheck.State.NOT_WRITING : TransactionCheck.State.WRITING;
            case COMMITTED -> TransactionCheck.State.COMMITTED;
            case ABORTED -> TransactionCheck.State.ABORTED;
        };
    }
}
