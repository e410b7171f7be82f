package dev.pgnotify.camel.queue;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.pgnotify.camel.claim.Parameters;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.claim.WorkStore;

/**
 * mode=queue's work: the messages of one channel of a queue table, each an item of its own.
 */
final class QueueWorkStore implements WorkStore {

    private final QueueResources queue;
    private final String channel;

    QueueWorkStore(QueueResources queue, String channel) {
        this.queue = queue;
        this.channel = channel;
    }

    /**
     * Whether the channel has prioritized messages: claims then take the priority path. Refreshed at start and by
     * every sweep, and set as soon as a claim returns a prioritized message; a channel's first prioritized message
     * may so be claimed in id order for up to a poll interval.
     */
    private volatile boolean prioritized;

    @Override
    public void refresh(Connection connection) throws SQLException {
        try (PreparedStatement check = connection.prepareStatement(queue.sql().hasPriorities)) {
            check.setString(1, channel);
            try (ResultSet rs = check.executeQuery()) {
                prioritized = rs.next() && rs.getBoolean(1);
            }
        }
    }

    @Override
    public Claim claim(Connection connection, ClaimRequest request) throws SQLException {
        boolean keyed = request.acknowledged().stream().anyMatch(item -> item.messages().get(0).key() != null);
        boolean withPriorities = prioritized;
        String claim = WorkRows.withSettings(connection, queue.sql().acknowledgeAndClaim(keyed, withPriorities));
        try (PreparedStatement statement = connection.prepareStatement(claim)) {
            Array ackIds = WorkRows.ids(connection, request.acknowledged());
            Array named = connection.createArrayOf("bigint", request.dueIds());
            Parameters parameters = new Parameters(statement).add(request.unfinishedFrom())
                    .byIdsAndAttempts(ackIds, WorkRows.attempts(connection, request.acknowledged()),
                            WorkRows.fences(connection, request.acknowledged()))
                    .add(request.needsXid()).byIds(named).add(ackIds).add(request.batch());
            if (withPriorities) {
                // the priority scan, and whether the claim is crowded (then the fresh scan does not run)
                parameters.add(channel).add(channel).add(ackIds).add(request.batch()).add(request.batch())
                        .add(request.frontier());
            }
            // the channel twice: in a row comparison with the frontier and as the scan's end (see QueueSql)
            parameters.add(channel).add(request.frontier()).add(channel).add(ackIds).add(named).add(request.batch());
            if (keyed && !withPriorities) {
                // successors: how far a full fresh scan reaches (with priorities they are not bounded)
                parameters.add(request.batch());
            }
            parameters.add(request.budget()).add(request.batch()).add(request.leaseMillis())
                    .add(request.maxAttempts()).add(request.maxAttempts()).add(request.maxAttempts());
            if (!keyed && !withPriorities) {
                // found by the fresh scan: not named
                parameters.add(named);
            }
            parameters.add(queue.sequence());
            return read(statement, request);
        }
    }

    private Claim read(PreparedStatement statement, ClaimRequest request) throws SQLException {
        // highest priority first, then the channel's order: the ids'
        List<Item> claimed = new ArrayList<>();
        // found by the fresh scan from the frontier (not named by id, nor the next of a key, nor prioritized)
        Set<Long> foundFresh = new HashSet<>();
        String snapshot = null;
        Long lastId = null;
        long fresh = 0;
        Long claimXid = null;
        Long firstLeftOut = null;
        WorkRows.executeClaim(statement);
        try (ResultSet rs = statement.getResultSet()) {
            while (rs.next()) {
                if (snapshot == null) {
                    snapshot = rs.getString(9);
                    long last = rs.getLong(10);
                    lastId = rs.wasNull() ? null : last;
                    fresh = rs.getLong(11);
                    if (rs.wasNull()) {
                        // the fresh scan did not run (a crowded claim, see QueueSql): it examined nothing, and
                        // counts as a full one, so that the frontier stays where it is
                        fresh = request.batch();
                    }
                    long cut = rs.getLong(16);
                    firstLeftOut = rs.wasNull() ? null : cut;
                    String own = rs.getString(17);
                    if (own != null) {
                        claimXid = Long.parseLong(own);
                    }
                }
                long id = rs.getLong(1);
                if (rs.wasNull()) {
                    continue;
                }
                Object body = rs.getString(2);
                if (body == null) {
                    body = rs.getString(3);
                }
                if (body == null) {
                    body = rs.getBytes(4);
                }
                StoredMessage message = new StoredMessage(id, body, rs.getString(5), rs.getTimestamp(7), true,
                        rs.getString(12), rs.getBoolean(13));
                String xid = rs.getString(8);
                if (xid != null) {
                    claimXid = Long.parseLong(xid);
                }
                if (rs.getBoolean(14)) {
                    foundFresh.add(id);
                }
                if (rs.getInt(15) > 0) {
                    // a prioritized message (perhaps claimed in id order): the next claims take priorities along
                    prioritized = true;
                }
                claimed.add(new Item(id, rs.getInt(6), rs.getLong(18), List.of(message), 0));
            }
        }
        long freshClaimed = 0;
        long lastFreshClaimed = request.frontier();
        for (Item item : claimed) {
            if (foundFresh.contains(item.id())) {
                freshClaimed++;
                lastFreshClaimed = Math.max(lastFreshClaimed, item.id());
            }
        }
        if (firstLeftOut != null) {
            // with priorities, the fresh messages claimed need not be the first ones: the scan reached only as far as
            // the first it left
            lastFreshClaimed = Math.max(request.frontier(), Math.min(lastFreshClaimed, firstLeftOut - 1));
        }
        return new Claim(claimed, snapshot, lastId, claimXid, fresh, freshClaimed, lastFreshClaimed);
    }

    @Override
    public void acknowledge(Connection connection, List<Item> items) throws SQLException {
        try (PreparedStatement acknowledge = connection.prepareStatement(WorkRows.inIdOrder(queue.sql().acknowledge))) {
            new Parameters(acknowledge).byIdsAndAttempts(connection, items);
            WorkRows.executeWrite(acknowledge);
        }
    }

    @Override
    public InTransaction acknowledgeInTransaction(Connection connection, Item item) throws SQLException {
        try (PreparedStatement acknowledge = connection.prepareStatement(queue.sql().acknowledgeInTransaction)) {
            new Parameters(acknowledge).byIdAndAttempt(item);
            try (ResultSet rs = acknowledge.executeQuery()) {
                if (!rs.next()) {
                    return new InTransaction(false, null);
                }
                long next = rs.getLong(1);
                return new InTransaction(true, rs.wasNull() ? null : next);
            }
        }
    }

    @Override
    public void retry(Connection connection, Item item, long delayMillis, String error) throws SQLException {
        try (PreparedStatement retry = connection.prepareStatement(queue.sql().retryLater)) {
            new Parameters(retry).add(delayMillis).add(error).byIdAndAttempt(item);
            retry.executeUpdate();
        }
    }

    @Override
    public DeadLettered deadLetter(Connection connection, Item item, StoredMessage message, String error)
            throws SQLException {
        try (PreparedStatement dead = connection.prepareStatement(queue.sql().moveToDeadLetter)) {
            new Parameters(dead).byIdAndAttempt(item).add(error);
            try (ResultSet rs = dead.executeQuery()) {
                if (!rs.next()) {
                    return new DeadLettered(false, null);
                }
                long next = rs.getLong(1);
                return new DeadLettered(true, rs.wasNull() ? null : next);
            }
        }
    }

    @Override
    public void renew(Connection connection, List<Lease> leases, long leaseMillis) throws SQLException {
        try (PreparedStatement renew = connection.prepareStatement(WorkRows.inIdOrder(queue.sql().renewLeases))) {
            new Parameters(renew).add(leaseMillis).byLeases(connection, leases);
            WorkRows.executeWrite(renew);
        }
    }

    @Override
    public void release(Connection connection, List<Item> items) throws SQLException {
        try (PreparedStatement release = connection.prepareStatement(WorkRows.inIdOrder(queue.sql().releaseClaims))) {
            new Parameters(release).byIdsAndAttempts(connection, items);
            WorkRows.executeWrite(release);
        }
    }

    @Override
    public List<long[]> liveAfter(Connection connection, long after, long upTo, int limit) throws SQLException {
        try (PreparedStatement scan = connection.prepareStatement(WorkRows.inIndexOrder(queue.sql().liveAfter))) {
            scan.setString(1, channel);
            scan.setLong(2, after);
            scan.setLong(3, upTo);
            scan.setInt(4, limit);
            return WorkRows.live(scan);
        }
    }

    @Override
    public Long firstLive(Connection connection, long from, long upTo) throws SQLException {
        try (PreparedStatement first = connection.prepareStatement(WorkRows.inIndexOrder(queue.sql().firstLive))) {
            first.setString(1, channel);
            first.setLong(2, from);
            first.setLong(3, upTo);
            return WorkRows.firstId(first);
        }
    }

    @Override
    public String sequence() {
        return queue.sequence();
    }

    @Override
    public String table() {
        return queue.table().sql();
    }

    @Override
    public Map<Long, Long> liveAmong(Connection connection, Long[] ids) throws SQLException {
        try (PreparedStatement lookUp = connection.prepareStatement(queue.sql().liveAmong)) {
            new Parameters(lookUp).byIds(connection.createArrayOf("bigint", ids));
            return WorkRows.liveById(lookUp);
        }
    }
}
