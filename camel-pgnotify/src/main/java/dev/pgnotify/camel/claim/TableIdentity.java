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
 * rather than trust a frontier and a sweep position read on the old server. A crash of one backend (the OOM killer, a
 * segfault, a PANIC) makes the postmaster recover from the WAL in place, losing what was committed asynchronously just
 * as a restart does, without changing its start time: that recovery discards the cumulative statistics, so the time
 * they were last reset (pg_stat_archiver.stats_reset, readable by every role, PostgreSQL 13 to 18) tells it. (A reset
 * of those statistics by hand, pg_stat_reset_shared, looks the same: the engine then starts again, needlessly.)
 *
 * @param tableNode    the table's storage (pg_relation_filenode)
 * @param sequenceNode the sequence's storage
 * @param cache        how many ids a session takes from the sequence at a time
 * @param serverStart  when the server answering started (pg_postmaster_start_time, microseconds since the epoch)
 * @param statsReset   when its shared statistics were last reset (pg_stat_archiver.stats_reset, microseconds since
 *                     the epoch; 0 if never): also by a crash recovery in place
 */
record TableIdentity(long tableNode, long sequenceNode, long cache, long serverStart, long statsReset) {

    /** Parameters: the table, the sequence, the sequence. */
    static final String READ = "SELECT pg_relation_filenode(?::regclass), pg_relation_filenode(?::regclass),"
                               + " (SELECT s.seqcache FROM pg_sequence s WHERE s.seqrelid = ?::regclass),"
                               + " (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint,"
                               + " (SELECT (extract(epoch FROM a.stats_reset) * 1000000)::bigint"
                               + " FROM pg_stat_archiver a)";

    static TableIdentity read(Connection connection, String table, String sequence) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(READ)) {
            statement.setString(1, table);
            statement.setString(2, sequence);
            statement.setString(3, sequence);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return new TableIdentity(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        rs.getLong(5));
            }
        }
    }

    /** Whether the table or its sequence got new storage since {@code earlier}: emptied, or its ids restarted. */
    boolean renewedSince(TableIdentity earlier) {
        return tableNode != earlier.tableNode || sequenceNode != earlier.sequenceNode;
    }

    /**
     * Whether another server answers than at {@code earlier}, or the same one restarted or recovered from a crash in
     * place: a failover, a restart, a crash.
     */
    boolean otherServerThan(TableIdentity earlier) {
        return serverStart != earlier.serverStart || statsReset != earlier.statsReset;
    }

    boolean idsInOrder() {
        return cache <= 1;
    }
}
