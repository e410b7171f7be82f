package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The table a {@link ClaimingConsumer} leases its work from, and the SQL of each step: claim (with the previous
 * acknowledgements), acknowledge, retry, dead-letter, renew, hand back, and the sweep's look-ups below the frontier.
 * A queue's work items are its messages; a topic group's are batches of message ids cut from the log, and retries of
 * single messages.
 */
public interface WorkStore {

    /**
     * A message as stored; its body is null until loaded (a topic batch loads its bodies within a byte budget). A
     * loaded message without a creation time is one the table no longer holds ({@link #expired}).
     */
    record StoredMessage(long id, Object body, String headers, Timestamp createdAt, boolean loaded, String key,
                         boolean outlived) {

        /**
         * @param key      the message's key (per-key order), or null
         * @param outlived mode=queue: its expiry time passed before it was claimed: it is not to be delivered
         */
        public StoredMessage {
        }

        public StoredMessage(long id, Object body, String headers, Timestamp createdAt, boolean loaded) {
            this(id, body, headers, createdAt, loaded, null, false);
        }

        /** A message that is gone: a topic's log emptied it after the maximum retention, before it was processed. */
        public static StoredMessage expired(long id) {
            return new StoredMessage(id, null, null, null, true);
        }

        /** A message whose body is still to be loaded. */
        public static StoredMessage unloaded(long id) {
            return new StoredMessage(id, null, null, null, false);
        }

        public boolean isExpired() {
            return loaded && createdAt == null;
        }
    }

    /**
     * A unit of leased work: the messages to process in order, the attempt it was claimed as and when its row was
     * created (its fencing tokens), and how many of its messages are done (renewals record it, so that a redelivered
     * batch resumes after them).
     */
    final class Item {

        private final long id;
        private final int attempt;
        private final long fence;
        private final List<StoredMessage> messages;
        private volatile int progress;

        /**
         * @param fence the row's {@code ItemSql.FENCE} as the claim read it: with the attempt, what settles this row
         *              and no other that takes its id later
         */
        public Item(long id, int attempt, long fence, List<StoredMessage> messages, int progress) {
            this.id = id;
            this.attempt = attempt;
            this.fence = fence;
            this.messages = new ArrayList<>(messages);
            this.progress = progress;
        }

        public long id() {
            return id;
        }

        public int attempt() {
            return attempt;
        }

        public long fence() {
            return fence;
        }

        public List<StoredMessage> messages() {
            return messages;
        }

        public int progress() {
            return progress;
        }

        public void progress(int done) {
            this.progress = done;
        }

        /** Whether this item is one message (a queue message, or a topic retry). */
        public boolean single() {
            return messages.size() == 1;
        }
    }

    /**
     * What a claim asks for; {@code woken}: the claim answers a wake-up (something was published);
     * {@code unfinishedFrom}: an id below which no unfinished item exists (0: unknown), which bounds the look-ups of
     * per-key order from below, so that they do not walk what is done (dead index entries an old snapshot keeps);
     * {@code needsXid}: the claim takes a transaction id of its own even if it writes nothing, and reports it (see
     * {@code ItemSql.CLAIM_XID}).
     */
    record ClaimRequest(List<Item> acknowledged, Long[] dueIds, long frontier, int batch, long budget, long leaseMillis,
                        int maxAttempts, boolean woken, long unfinishedFrom, boolean needsXid) {
    }

    /** What a claim returned: the items, and what the cursor learns from it. */
    record Claim(List<Item> items, String snapshot, Long lastId, Long claimXid, long freshCandidates,
                 long freshClaimed, long lastFreshClaimed) {
    }

    /** A lease to renew: the item, the attempt it was claimed as, its fence (see {@link Item}), and its progress. */
    record Lease(long id, int attempt, long fence, int progress) {
    }

    /**
     * What an acknowledgement inside the application's transaction did.
     *
     * @param acknowledged false when the item had been claimed again (the transaction must roll back)
     * @param next         the id of a message it makes claimable once committed (the next of a key), or null
     */
    record InTransaction(boolean acknowledged, Long next) {
    }

    /** Acknowledges the given items and claims due ones, in one round trip. */
    Claim claim(Connection connection, ClaimRequest request) throws SQLException;

    /**
     * While messages trickle in, how long after a claim's start the next may start, in multiples of that claim's own
     * time (see {@code Worker}); 0: only the least interval between claims. A store whose claims do work of their own
     * (a topic's cut) spaces them by their cost, so that on a busy server they come less often, each for more
     * messages, and leave the CPU to the producers.
     */
    default int claimSpacing() {
        return 0;
    }

    /** Whether the last claim left work it could have taken at once (a topic cut that reached its limit). */
    default boolean leftBacklog() {
        return false;
    }

    void acknowledge(Connection connection, List<Item> items) throws SQLException;

    /**
     * Acknowledges a single-message item on the connection of the transaction its exchange ran in, with that
     * transaction's durability. Not acknowledged when the item was claimed again since (its lease ran out): the
     * transaction is then to roll back. Only for stores that support transacted=true.
     */
    default InTransaction acknowledgeInTransaction(Connection connection, Item item) throws SQLException {
        throw new UnsupportedOperationException("transacted=true is not supported here");
    }

    /** Makes a single-message item due again after the delay, with the error. */
    void retry(Connection connection, Item item, long delayMillis, String error) throws SQLException;

    /**
     * What dead-lettering did.
     *
     * @param done whether the message went to the dead-letter table: false when the item had been claimed again (its
     *             lease ran out), which leaves the message to its new holder
     * @param next the id of a message this made claimable (the next of a keyed message's key), or null
     */
    record DeadLettered(boolean done, Long next) {
    }

    /**
     * Puts one message of the item in the dead-letter table with the error, fenced by the attempt the item was claimed
     * as and its fence; a single-message item is removed with it.
     */
    DeadLettered deadLetter(Connection connection, Item item, StoredMessage message, String error) throws SQLException;

    /**
     * Takes a message out of a batch into an item of its own; returns its id, or null when the batch had been claimed
     * again (fenced by the attempt it was claimed as and its fence). Only for stores whose items hold several messages. A failed one
     * ({@code error} not null) is due again after the delay, with one delivery counted; a keyed message after a failed
     * one of its key (error null) is due at once and waits for it (per-key order).
     */
    default Long splitOut(Connection connection, Item item, StoredMessage message, long delayMillis, String error)
            throws SQLException {
        throw new UnsupportedOperationException("items hold one message");
    }

    /** Loads the bodies of the item's messages from {@code from} on, within the byte budget (at least one). */
    default List<StoredMessage> load(Connection connection, Item item, int from, long budget) throws SQLException {
        throw new UnsupportedOperationException("bodies come with the claim");
    }

    void renew(Connection connection, List<Lease> leases, long leaseMillis) throws SQLException;

    /** Refreshes what the store knows of its work, once a sweep (mode=queue: whether the channel has priorities). */
    default void refresh(Connection connection) throws SQLException {
    }

    /** Hands claimed items back at once (at stop), as if they had not been claimed. */
    void release(Connection connection, List<Item> items) throws SQLException;

    /**
     * The first live items of this consumer's key with ids in ({@code after}, {@code upTo}], in id order, at most
     * {@code limit}, each as {id, milliseconds until it falls due} (zero or less: due). A page of the sweep: the next
     * page starts after the last id returned, so that pages follow the rows, whatever the gaps between their ids.
     */
    List<long[]> liveAfter(Connection connection, long after, long upTo, int limit) throws SQLException;

    /**
     * The lowest id of a live item of this consumer's key in [{@code from}, {@code upTo}], or null. The walk starts at
     * {@code from}, so that the entries of finished items below it (which an old snapshot elsewhere keeps in the index)
     * are not read again.
     */
    Long firstLive(Connection connection, long from, long upTo) throws SQLException;

    /**
     * The table the items live in (quoted and qualified), whose write locks tell the sweep which long transactions may
     * have drawn its ids.
     */
    String table();

    /** The sequence the items' ids are drawn from (quoted and qualified). */
    String sequence();

    /** The storage of the table and its sequence, and the sequence's cache: see {@link TableIdentity}. */
    default TableIdentity identity(Connection connection) throws SQLException {
        return TableIdentity.read(connection, table(), sequence());
    }

    /** How these (excused) transactions stand: see {@link TransactionCheck}. */
    default Map<Long, TransactionCheck.State> transactions(Connection connection, long[] xids) throws SQLException {
        return TransactionCheck.check(connection, table(), xids);
    }

    /** The items among these ids that still exist, each with the milliseconds until it falls due. */
    Map<Long, Long> liveAmong(Connection connection, Long[] ids) throws SQLException;
}
