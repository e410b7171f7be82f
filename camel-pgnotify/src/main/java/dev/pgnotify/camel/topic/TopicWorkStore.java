package dev.pgnotify.camel.topic;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.pgnotify.camel.claim.Parameters;
import dev.pgnotify.camel.claim.WorkRows;
import dev.pgnotify.camel.claim.WorkStore;
import dev.pgnotify.camel.connection.ReadTransaction;

/**
 * A topic group's work: items cut from the log, each a batch of message ids (or one message to retry), whose bodies
 * are loaded from the log within the byte budget as the consumer reaches them.
 * <p>
 * Longer than a class here should be: a topic claim's one round trip (cut, acknowledge, claim, first bodies) returns
 * several results whose reading is here beside the statements that make them.
 */
final class TopicWorkStore implements WorkStore {

    /** A cut takes at most this many batches of messages: a backlog is cut in pieces as consumers get to them. */
    static final int CUT_BATCHES = 20;

    /** Told how many messages each cut took, and how many a cut takes at most. */
    interface CutListener {
        void cut(int messages, int limit, int batch);
    }

    private final TopicResources topic;
    private final String channel;
    private final String group;
    private final CutListener cutListener;
    /** The last cut reached its limit: the next claim cuts again, woken or not. */
    private volatile boolean moreToCut = true;

    TopicWorkStore(TopicResources topic, String channel, String group, CutListener cutListener) {
        this.topic = topic;
        this.channel = channel;
        this.group = group;
        this.cutListener = cutListener;
    }

    /** A slot the maintenance emptied, with the groups that had not processed all of it (null when none). */
    record Emptied(int slot, String unreadBy) {
    }

    /**
     * Registers the group the first time, starting from the earliest message the log holds or from now on; returns
     * whether it was new.
     */
    boolean register(Connection connection, boolean earliest) throws SQLException {
        try (PreparedStatement register = connection.prepareStatement(topic.sql().registerGroup)) {
            register.setString(1, channel);
            register.setString(2, group);
            register.setString(3, channel);
            register.setString(4, group);
            register.setBoolean(5, earliest);
            try (ResultSet rs = register.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * Whether the group has items with keys: claims then take the keyed path. Refreshed at start and by every sweep,
     * and set as soon as a keyed message is read; until then a cut's first keyed items wait for the claim after their
     * predecessors' acknowledgement (the keyed path claims them with it).
     */
    private volatile boolean keyed;

    @Override
    public void refresh(Connection connection) throws SQLException {
        try (PreparedStatement check = connection.prepareStatement(topic.sql().hasKeyedItems)) {
            check.setString(1, channel);
            check.setString(2, group);
            try (ResultSet rs = check.executeQuery()) {
                keyed = rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** Records that the group is alive (the lag view shows when it was last seen). */
    void touch(Connection connection) throws SQLException {
        try (PreparedStatement touch = connection.prepareStatement(topic.sql().touchGroup)) {
            touch.setString(1, channel);
            touch.setString(2, group);
            touch.executeUpdate();
        }
    }

    /** A group's lag: messages not processed yet, and the age of the oldest (null when there is none). */
    record Lag(long messages, Long ageMillis) {
    }

    /**
     * The group's lag; {@code itemsFrom}: the first item id that may be unfinished (0 when unknown); the query bounded
     * by {@code timeoutMillis} on the server (0: the session's own bound).
     */
    Lag lag(Connection connection, long itemsFrom, long timeoutMillis) throws SQLException {
        // counting a backlog is estimated past jit_above_cost: not compiled, in a transaction of its own
        return ReadTransaction.run(connection, timeoutMillis, read -> {
            try (PreparedStatement lag = read.prepareStatement(topic.sql().groupLag)) {
                lag.setLong(1, itemsFrom);
                lag.setString(2, channel);
                lag.setString(3, group);
                try (ResultSet rs = lag.executeQuery()) {
                    if (!rs.next()) {
                        return new Lag(0, null);
                    }
                    long messages = rs.getLong(1);
                    long age = rs.getLong(2);
                    return new Lag(messages, rs.wasNull() ? null : age);
                }
            }
        });
    }

    /** Rotates the log and empties what no group needs; returns what it emptied. */
    List<Emptied> maintain(Connection connection, long retention, long maxRetention, long rotateInterval)
            throws SQLException {
        try (PreparedStatement maintain = connection.prepareStatement(topic.sql().maintain)) {
            maintain.setLong(1, retention);
            maintain.setLong(2, maxRetention);
            maintain.setLong(3, rotateInterval);
            List<Emptied> emptied = new ArrayList<>();
            try (ResultSet rs = maintain.executeQuery()) {
                while (rs.next()) {
                    emptied.add(new Emptied(rs.getInt(1), rs.getString(2)));
                }
            }
            return emptied;
        }
    }

    /**
     * A claim that answers a wake-up cuts first (a PL/pgSQL call that writes the group's items), which at a trickle
     * costs more than the claim: spaced at twice their time, one producer thread's two groups each received 1.58× the
     * rate they had at a fixed millisecond on a 2-core server, p99 at 1,000 msg/s 0.78× (median 1.1 ms more;
     * docs/benchmark/topic-vs-pgque.md).
     */
    @Override
    public int claimSpacing() {
        return 2;
    }

    /** A cut that reached its limit left messages to cut: the next claim goes at once, unspaced. */
    @Override
    public boolean leftBacklog() {
        return moreToCut;
    }

    /**
     * Claims the group's items; a claim that answers a wake-up (or follows a cut that reached its limit) cuts the log
     * first, in the same round trip and transaction.
     */
    @Override
    public Claim claim(Connection connection, ClaimRequest request) throws SQLException {
        boolean cutFirst = request.woken() || moreToCut;
        boolean withKeys = keyed;
        int limit = (int) Math.min(Integer.MAX_VALUE, (long) request.batch() * CUT_BATCHES);
        String claim = cutFirst ? withKeys ? topic.sql().cutAndClaimKeyed : topic.sql().cutAndClaim
                : withKeys ? topic.sql().acknowledgeAndClaimKeyed : topic.sql().acknowledgeAndClaim;
        try (PreparedStatement statement = connection.prepareStatement(WorkRows.withSettings(connection, claim))) {
            Array ackIds = WorkRows.ids(connection, request.acknowledged());
            Array named = connection.createArrayOf("bigint", request.dueIds());
            Parameters parameters = new Parameters(statement);
            if (cutFirst) {
                parameters.add(channel).add(group).add(request.batch()).add(limit);
            }
            parameters
                    .byIdsAndAttempts(ackIds, WorkRows.attempts(connection, request.acknowledged()),
                            WorkRows.fences(connection, request.acknowledged()))
                    .add(request.needsXid()).byIds(named).add(ackIds).add(request.batch())
                    // the fresh scan: channel and group twice (see TopicSql)
                    .add(channel).add(group).add(channel).add(group).add(request.frontier()).add(ackIds).add(named)
                    .add(request.batch());
            if (withKeys) {
                parameters.add(channel).add(group).add(ackIds).add(request.batch());
            }
            parameters.add(request.batch()).add(request.leaseMillis()).add(topic.itemSequence())
                    .add(request.budget()).add(request.maxAttempts());
            Map<Long, Item> claimedById = new LinkedHashMap<>();
            Map<Long, Map<Integer, StoredMessage>> bodies = new HashMap<>();
            long firstEligible = -1;
            String snapshot = null;
            Long lastId = null;
            long fresh = 0;
            Long claimXid = null;
            Set<Long> foundFresh = new HashSet<>();
            WorkRows.executeClaim(statement);
            if (cutFirst) {
                int cut;
                try (ResultSet rs = statement.getResultSet()) {
                    rs.next();
                    cut = rs.getInt(1);
                    moreToCut = rs.getBoolean(2);
                }
                cutListener.cut(cut, limit, request.batch());
                statement.getMoreResults();
            }
            try (ResultSet rs = statement.getResultSet()) {
                while (rs.next()) {
                    if (snapshot == null) {
                        snapshot = rs.getString(6);
                        long last = rs.getLong(7);
                        lastId = rs.wasNull() ? null : last;
                        fresh = rs.getLong(8);
                        String own = rs.getString(19);
                        if (own != null) {
                            claimXid = Long.parseLong(own);
                        }
                    }
                    long id = rs.getLong(1);
                    if (rs.wasNull()) {
                        continue;
                    }
                    if (!claimedById.containsKey(id)) {
                        Long[] messageIds = (Long[]) rs.getArray(2).getArray();
                        List<StoredMessage> messages = new ArrayList<>(messageIds.length);
                        for (Long messageId : messageIds) {
                            messages.add(StoredMessage.unloaded(messageId));
                        }
                        String xid = rs.getString(5);
                        if (xid != null) {
                            claimXid = Long.parseLong(xid);
                        }
                        Item item = new Item(id, rs.getInt(4), rs.getLong(20), messages, rs.getInt(3));
                        claimedById.put(id, item);
                        if (rs.getBoolean(18)) {
                            foundFresh.add(id);
                        }
                        if (firstEligible < 0 || id < firstEligible) {
                            firstEligible = id;
                        }
                    }
                    int position = rs.getInt(9);
                    if (!rs.wasNull()) {
                        bodies.computeIfAbsent(id, k -> new HashMap<>()).put(position, storedMessage(rs, 10));
                        if (rs.getString(17) != null) {
                            keyed = true;
                        }
                    }
                }
            }
            List<Item> claimed = new ArrayList<>(claimedById.values());
            Item first = claimedById.get(firstEligible);
            if (first != null && first.attempt() <= request.maxAttempts()) {
                List<StoredMessage> wanted = first.messages().subList(first.progress(), first.messages().size());
                List<StoredMessage> loaded = inOrder(wanted, bodies.getOrDefault(first.id(), Map.of()));
                for (int k = 0; k < loaded.size(); k++) {
                    first.messages().set(first.progress() + k, loaded.get(k));
                }
            }
            claimed.sort((a, b) -> Long.compare(a.id(), b.id()));
            long freshClaimed = 0;
            long lastFreshClaimed = request.frontier();
            for (Item item : claimed) {
                if (foundFresh.contains(item.id())) {
                    freshClaimed++;
                    lastFreshClaimed = Math.max(lastFreshClaimed, item.id());
                }
            }
            return new Claim(claimed, snapshot, lastId, claimXid, fresh, freshClaimed, lastFreshClaimed);
        }
    }

    /**
     * Loads bodies from the item's position {@code from} on. A message the log no longer holds (its slot was emptied
     * after the maximum retention) comes back without a creation time: it expired before this group read it.
     */
    @Override
    public List<StoredMessage> load(Connection connection, Item item, int from, long budget) throws SQLException {
        List<StoredMessage> wanted = item.messages().subList(from, item.messages().size());
        try (PreparedStatement statement = connection.prepareStatement(topic.sql().load)) {
            WorkRows.preferBinaryResults(statement);
            Array ids = connection.createArrayOf("bigint",
                    wanted.stream().map(StoredMessage::id).toArray(Long[]::new));
            statement.setArray(1, ids);
            statement.setLong(2, budget);
            Map<Integer, StoredMessage> found = new HashMap<>();
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    found.put(rs.getInt(1), storedMessage(rs, 2));
                    if (rs.getString(9) != null) {
                        keyed = true;
                    }
                }
            }
            return inOrder(wanted, found);
        }
    }

    /**
     * A message read by the load function, whose columns start at {@code column}: id, bodies, headers, created_at,
     * is_binary. A binary body left out comes back unloaded.
     */
    private static StoredMessage storedMessage(ResultSet rs, int column) throws SQLException {
        if (rs.getBoolean(column + 6) && rs.getBytes(column + 3) == null) {
            return StoredMessage.unloaded(rs.getLong(column));
        }
        Object body = rs.getString(column + 1);
        if (body == null) {
            body = rs.getString(column + 2);
        }
        if (body == null) {
            body = rs.getBytes(column + 3);
        }
        return new StoredMessage(rs.getLong(column), body, rs.getString(column + 4), rs.getTimestamp(column + 5), true,
                rs.getString(column + 7), false);
    }

    /**
     * The messages read, by their 1-based position among those wanted, as a list from the first up to the last read;
     * a position between them that was not read is a message the log no longer holds (expired), and so are all when
     * none was read (the load reads at least one that exists).
     */
    private static List<StoredMessage> inOrder(List<StoredMessage> wanted, Map<Integer, StoredMessage> found) {
        int last = found.isEmpty() ? wanted.size() : found.keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
        List<StoredMessage> loaded = new ArrayList<>(last);
        for (int position = 1; position <= last; position++) {
            StoredMessage message = found.get(position);
            loaded.add(message != null ? message : StoredMessage.expired(wanted.get(position - 1).id()));
        }
        return loaded;
    }

    @Override
    public void acknowledge(Connection connection, List<Item> items) throws SQLException {
        try (PreparedStatement acknowledge = connection.prepareStatement(WorkRows.inIdOrder(topic.sql().acknowledge))) {
            new Parameters(acknowledge).byIdsAndAttempts(connection, items);
            WorkRows.executeWrite(acknowledge);
        }
    }

    @Override
    public void retry(Connection connection, Item item, long delayMillis, String error) throws SQLException {
        try (PreparedStatement retry = connection.prepareStatement(topic.sql().retryLater)) {
            new Parameters(retry).add(delayMillis).add(error).byIdAndAttempt(item);
            retry.executeUpdate();
        }
    }

    @Override
    public Long splitOut(Connection connection, Item item, StoredMessage message, long delayMillis, String error)
            throws SQLException {
        try (PreparedStatement split = connection.prepareStatement(topic.sql().splitOut)) {
            new Parameters(split).byIdAndAttempt(item).add(channel).add(group).add(message.id())
                    .add(error != null ? 1 : 0).add(delayMillis).add(error).add(message.key()).add(message.key());
            if (message.key() != null) {
                // a batch is never itself split out: its place is its id
                split.setLong(12, item.id());
            } else {
                split.setNull(12, Types.BIGINT);
            }
            try (ResultSet rs = split.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    @Override
    public DeadLettered deadLetter(Connection connection, Item item, StoredMessage message, String error)
            throws SQLException {
        try (PreparedStatement dead = connection.prepareStatement(topic.sql().deadLetter)) {
            new Parameters(dead).byIdAndAttempt(item).add(group).add(item.attempt()).add(error).add(message.id())
                    .add(channel).add(message.createdAt());
            try (ResultSet rs = dead.executeQuery()) {
                return new DeadLettered(rs.next() && rs.getLong(1) > 0, null);
            }
        }
    }

    @Override
    public void renew(Connection connection, List<Lease> leases, long leaseMillis) throws SQLException {
        try (PreparedStatement renew = connection.prepareStatement(WorkRows.inIdOrder(topic.sql().renewLeases))) {
            Array ids = connection.createArrayOf("bigint", leases.stream().map(Lease::id).toArray(Long[]::new));
            new Parameters(renew).add(leaseMillis)
                    .add(connection.createArrayOf("integer", leases.stream().map(Lease::progress).toArray(Integer[]::new)))
                    .add(ids).byLeases(connection, leases);
            WorkRows.executeWrite(renew);
        }
    }

    @Override
    public void release(Connection connection, List<Item> items) throws SQLException {
        try (PreparedStatement release = connection.prepareStatement(WorkRows.inIdOrder(topic.sql().releaseClaims))) {
            Array ids = WorkRows.ids(connection, items);
            new Parameters(release)
                    .add(connection.createArrayOf("integer", items.stream().map(Item::progress).toArray(Integer[]::new)))
                    .add(ids).byIdsAndAttempts(connection, items);
            WorkRows.executeWrite(release);
        }
    }

    @Override
    public List<long[]> liveAfter(Connection connection, long after, long upTo, int limit) throws SQLException {
        try (PreparedStatement scan = connection.prepareStatement(WorkRows.inIndexOrder(topic.sql().liveAfter))) {
            scan.setString(1, channel);
            scan.setString(2, group);
            scan.setLong(3, after);
            scan.setLong(4, upTo);
            scan.setInt(5, limit);
            return WorkRows.live(scan);
        }
    }

    @Override
    public Long firstLive(Connection connection, long from, long upTo) throws SQLException {
        try (PreparedStatement first = connection.prepareStatement(WorkRows.inIndexOrder(topic.sql().firstLive))) {
            first.setString(1, channel);
            first.setString(2, group);
            first.setLong(3, from);
            first.setLong(4, upTo);
            return WorkRows.firstId(first);
        }
    }

    @Override
    public String sequence() {
        return topic.itemSequence();
    }

    @Override
    public String table() {
        return topic.table().itemsSql();
    }

    @Override
    public Map<Long, Long> liveAmong(Connection connection, Long[] ids) throws SQLException {
        try (PreparedStatement lookUp = connection.prepareStatement(topic.sql().liveAmong)) {
            new Parameters(lookUp).byIds(connection.createArrayOf("bigint", ids));
            return WorkRows.liveById(lookUp);
        }
    }
}
