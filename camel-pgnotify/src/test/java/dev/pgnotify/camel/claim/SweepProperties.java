package dev.pgnotify.camel.claim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * The sweep's invariants (see {@link Sweep}) over generated tables: rows the frontier passed, at ids with any gaps
 * (from 1, from 2^40, near 2^62), falling due at random times, some in another consumer's hands until their lease runs
 * out, some written by a long transaction that commits (or aborts) late; with few tracked items and small pages, so
 * that the overflow and the paging are exercised. Time passes a poll interval per sweep, timers fire on time, and a
 * claim takes every due item at once (it is then gone, as an acknowledged message is).
 * <ul>
 * <li>R: every row is handed to a claim no earlier than it falls due (or its transaction commits), and no later than
 * the bound the sweep states;</li>
 * <li>U: after every sweep, {@link Sweep#unfinishedFrom()} is at most the id of every unfinished row that is visible,
 * and below every pending range.</li>
 * </ul>
 */
class SweepProperties {

    private static final long POLL = 1000;

    record RowSpec(long gap, int dueInMillis, boolean othersLease, boolean longTransaction) {
    }

    private static final class Row {
        final long id;
        long dueAt;
        /** null: visible; else the transaction that still has to commit. */
        Long pendingXid;
        boolean aborted;
        /** Handed to a claim, processed and acknowledged: gone from the table. */
        boolean done;

        Row(long id, long dueAt) {
            this.id = id;
            this.dueAt = dueAt;
        }
    }

    /** The table as the sweep sees it through a work store. */
    private static final class Table implements WorkStore {
        final TreeMap<Long, Row> rows = new TreeMap<>();
        final Map<Long, TransactionCheck.State> transactions = new HashMap<>();
        long now;

        private boolean visible(Row row) {
            return row.pendingXid == null && !row.aborted && !row.done;
        }

        @Override
        public List<long[]> liveAfter(Connection connection, long after, long upTo, int limit) {
            List<long[]> page = new ArrayList<>();
            for (Row row : rows.subMap(after, false, upTo, true).values()) {
                if (visible(row)) {
                    page.add(new long[] { row.id, row.dueAt - now });
                    if (page.size() >= limit) {
                        break;
                    }
                }
            }
            return page;
        }

        @Override
        public Map<Long, Long> liveAmong(Connection connection, Long[] ids) {
            Map<Long, Long> live = new LinkedHashMap<>();
            for (Long id : ids) {
                Row row = rows.get(id);
                if (row != null && visible(row)) {
                    live.put(id, row.dueAt - now);
                }
            }
            return live;
        }

        @Override
        public Long firstLive(Connection connection, long from, long upTo) {
            return rows.subMap(from, true, upTo, true).values().stream().filter(this::visible).map(r -> r.id)
                    .findFirst().orElse(null);
        }

        @Override
        public Map<Long, TransactionCheck.State> transactions(Connection connection, long[] xids) {
            Map<Long, TransactionCheck.State> states = new HashMap<>();
            for (long xid : xids) {
                states.put(xid, transactions.getOrDefault(xid, TransactionCheck.State.NOT_WRITING));
            }
            return states;
        }

        @Override
        public String table() {
            return "t";
        }

        @Override
        public String sequence() {
            return "t_id_seq";
        }

        @Override
        public Claim claim(Connection connection, ClaimRequest request) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void acknowledge(Connection connection, List<Item> items) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void retry(Connection connection, Item item, long delayMillis, String error) {
            throw new UnsupportedOperationException();
        }

        @Override
        public DeadLettered deadLetter(Connection connection, Item item, StoredMessage message, String error) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void renew(Connection connection, List<Lease> leases, long leaseMillis) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void release(Connection connection, List<Item> items) {
            throw new UnsupportedOperationException();
        }
    }

    /** A cursor whose frontier passed every row, with one pending range for the long transaction's rows. */
    private static final class Cursor implements CursorView {
        long frontier;
        final List<ClaimCursor.PendingRange> pending = new ArrayList<>();

        @Override
        public long frontier() {
            return frontier;
        }

        @Override
        public long settled() {
            return frontier;
        }

        @Override
        public ClaimCursor.PendingCheck pendingForCheck() {
            Set<Long> xids = new HashSet<>();
            pending.forEach(range -> xids.addAll(range.transactions()));
            return new ClaimCursor.PendingCheck(List.copyOf(pending), 0,
                    xids.stream().mapToLong(Long::longValue).toArray());
        }

        @Override
        public void resolved(ClaimCursor.PendingCheck check, Set<Long> done) {
            pending.removeIf(range -> done.containsAll(range.transactions()));
        }

        @Override
        public long pendingFloor() {
            return pending.stream().mapToLong(range -> range.after() + 1).min().orElse(Long.MAX_VALUE);
        }

        @Override
        public long epoch() {
            return 0;
        }
    }

    @Property(tries = 300)
    void everyRowIsHandedToAClaimInTimeAndNotBefore(@ForAll("tables") List<RowSpec> specs,
                                                     @ForAll("firstIds") long firstId,
                                                     @ForAll @IntRange(min = 1, max = 40) int maxTracked,
                                                     @ForAll @IntRange(min = 1, max = 13) int pageRows,
                                                     @ForAll @IntRange(min = 1, max = 15) int commitAfterPolls)
            throws Exception {
        Table table = new Table();
        Cursor cursor = new Cursor();
        Handoff handoff = new Handoff();
        TreeMap<Long, List<Long>> timers = new TreeMap<>();
        Sweep sweep = new Sweep(cursor, handoff,
                (id, millis) -> timers.computeIfAbsent(table.now + millis, t -> new ArrayList<>()).add(id),
                () -> table.now, maxTracked, pageRows);
        sweep.reset(POLL);

        long longXid = 42;
        long id = firstId;
        long firstLong = -1;
        long lastLong = -1;
        for (RowSpec spec : specs) {
            id += spec.gap();
            Row row = new Row(id, spec.dueInMillis());
            if (spec.longTransaction()) {
                row.pendingXid = longXid;
                firstLong = firstLong < 0 ? id : firstLong;
                lastLong = id;
            }
            table.rows.put(id, row);
        }
        cursor.frontier = id;
        if (firstLong >= 0) {
            cursor.pending.add(new ClaimCursor.PendingRange(firstLong - 1, lastLong, List.of(longXid), 1));
            table.transactions.put(longXid, TransactionCheck.State.WRITING);
        }
        boolean abort = commitAfterPolls % 4 == 0;
        long commitAt = commitAfterPolls * POLL;
        Set<Long> othersLeases = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            if (specs.get(i).othersLease()) {
                othersLeases.add(table.rows.keySet().stream().skip(i).findFirst().orElseThrow());
            }
        }

        int rows = table.rows.size();
        long passes = 2 + ceil(rows, pageRows * Sweep.PAGES_PER_SWEEP) + ceil(rows, pageRows * Sweep.RESCAN_PAGES);
        long bound = POLL * (passes + 1);
        Map<Long, Long> handedAt = new HashMap<>();
        long horizon = commitAt + 25_000 + bound;
        for (table.now = 0; table.now <= horizon && handedAt.size() < expected(table); table.now += POLL / 4) {
            if (table.now == commitAt && firstLong >= 0) {
                for (Row row : table.rows.values()) {
                    if (row.pendingXid != null) {
                        row.pendingXid = null;
                        row.aborted = abort;
                    }
                }
                table.transactions.put(longXid, abort ? TransactionCheck.State.ABORTED : TransactionCheck.State.COMMITTED);
            }
            while (!timers.isEmpty() && timers.firstKey() <= table.now) {
                timers.pollFirstEntry().getValue().forEach(handoff::scheduledDue);
            }
            if (table.now % POLL == 0) {
                sweep.run(new Sweep.Calls() {
                    @Override
                    public <T> T call(String what, dev.pgnotify.camel.connection.Database.Work<T> work)
                            throws java.sql.SQLException {
                        return work.run(null);
                    }
                }, table);
                checkUnfinishedFrom(table, cursor, sweep);
            }
            takeDue(table, handoff, handedAt, othersLeases, commitAt);
        }
        for (Row row : table.rows.values()) {
            if (row.aborted) {
                continue;
            }
            long visibleAt = row.id >= firstLong && row.id <= lastLong && firstLong >= 0 ? commitAt : 0;
            long dueAt = Math.max(row.dueAt, visibleAt);
            Long at = handedAt.get(row.id);
            assertTrue(at != null, () -> "R: row " + row.id + " (due at " + dueAt + ") was never handed to a claim;"
                                         + " handed: " + handedAt.size() + " of " + expected(table));
            assertTrue(at <= dueAt + bound, () -> "R: row " + row.id + " due at " + dueAt + " was handed at " + at
                                                  + ", later than the bound " + bound + " ms after");
        }
    }

    /** A claim takes the due ids: it finds each row due, else skips it (another consumer's lease still runs). */
    private static void takeDue(Table table, Handoff handoff, Map<Long, Long> handedAt, Set<Long> othersLeases,
                                long commitAt) {
        for (Long id : handoff.takeDue(Integer.MAX_VALUE)) {
            Row row = table.rows.get(id);
            if (row == null || row.aborted || row.done || row.pendingXid != null) {
                continue;
            }
            assertTrue(row.dueAt <= table.now, () -> "R: row " + id + " due at " + row.dueAt + " was handed to a"
                                                     + " claim at " + table.now + ", before it fell due");
            if (othersLeases.remove(id)) {
                // another consumer took it when it fell due, and holds it for a lease of 3 s: it comes back then
                row.dueAt = table.now + 3000;
                handoff.claimed(new Long[] { id }, List.of());
                continue;
            }
            handedAt.putIfAbsent(id, table.now);
            row.done = true;
        }
    }

    private static int expected(Table table) {
        return (int) table.rows.values().stream().filter(r -> !r.aborted).count();
    }

    /** U: no visible unfinished row lies below unfinishedFrom, nor does a pending range. */
    private static void checkUnfinishedFrom(Table table, Cursor cursor, Sweep sweep) {
        long from = sweep.unfinishedFrom();
        for (Row row : table.rows.values()) {
            if (row.pendingXid == null && !row.aborted && !row.done) {
                assertTrue(from <= row.id, () -> "U: unfinishedFrom " + from + " is above the unfinished row " + row.id);
                break;
            }
        }
        assertTrue(from <= cursor.pendingFloor(), () -> "U: unfinishedFrom " + from + " is above a pending range");
    }

    private static long ceil(long a, long b) {
        return (a + b - 1) / b;
    }

    @Provide
    Arbitrary<List<RowSpec>> tables() {
        Arbitrary<Long> gaps = Arbitraries.oneOf(Arbitraries.longs().between(1, 3),
                Arbitraries.longs().between(1, 100_000), Arbitraries.longs().between(1, 1L << 40));
        return Combinators.combine(gaps, Arbitraries.integers().between(-2000, 20_000),
                Arbitraries.of(false, false, false, true), Arbitraries.of(false, false, false, false, true))
                .as(RowSpec::new).list().ofMinSize(1).ofMaxSize(150);
    }

    @Provide
    Arbitrary<Long> firstIds() {
        return Arbitraries.oneOf(Arbitraries.longs().between(1, 10), Arbitraries.longs().between(1L << 40, 1L << 41),
                Arbitraries.longs().between(1L << 62, (1L << 62) + 1000));
    }
}
