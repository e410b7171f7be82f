package dev.pgnotify.camel.claim;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * What the claim engine assumes of a table and the sequence of its ids, read at start and by every sweep: its storage
 * (TRUNCATE gives a table new storage, and ALTER SEQUENCE ... RESTART, TRUNCATE ... RESTART IDENTITY a sequence: ids
 * then come again from below the frontier, and the engine starts again from the channel's first id), and the
 * sequence's cache (above 1, each session draws ids from a block of its own, out of order: the frontier is then not
 * used); and the server's start time, which changes when the connections reach another server (a standby promoted in
 * a failover) or one restarted after a crash: either may have lost what the consumer remembers (commits not yet
 * replicated or flushed: acknowledgements, claims, sends), so the engine starts again from the channel's first id
 * rather than trust a frontier and a sweep position read on the old server.
 *
 * @param tableNode    the table's storage (pg_relation_filenode)
 * @param sequenceNode the sequence's storage
 * @param cache        how many ids a session takes from the sequence at a time
 * @param serverStart  when the server answering started (pg_postmaster_start_time, microseconds since the epoch)
 */
record TableIdentity(long tableNode, long sequenceNode, long cache, long serverStart) {

    /** Parameters: the table, the sequence, the sequence. */
    static final String READ = "SELECT pg_relation_filenode(?::regclass), pg_relation_filenode(?::regclass),"
                               + " (SELECT s.seqcache FROM pg_sequence s WHERE s.seqrelid = ?::regclass),"
                               + " (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint";

    static TableIdentity read(Connection connection, String table, String sequence) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(READ)) {
            statement.setString(1, table);
            statement.setString(2, sequence);
            statement.setString(3, sequence);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return new TableIdentity(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
            }
        }
    }

    /** Whether the table or its sequence got new storage since {@code earlier}: emptied, or its ids restarted. */
    boolean renewedSince(TableIdentity earlier) {
        return tableNode != earlier.tableNode || sequenceNode != earlier.sequenceNode;
    }

    /** Whether another server answers than at {@code earlier}, or the same one restarted: a failover, or a crash. */
    boolean otherServerThan(TableIdentity earlier) {
        return serverStart != earlier.serverStart;
    }

    boolean idsInOrder() {
        return cache <= 1;
    }
}
