package dev.pgnotify.camel.browse;

import java.sql.Connection;
import java.sql.SQLException;

import java.util.List;

import dev.pgnotify.camel.produce.MessageCodec;

/**
 * A durable mode's reads for browsing, each on a connection the caller gives, each returning at most {@code limit}
 * messages read in the order of an index (never a scan of a deep queue).
 */
public interface ChannelBrowse {

    /**
     * mode=queue: the channel's messages still in the queue (due, delayed, in flight or retrying), by id. mode=topic:
     * what the group has not processed yet: its open items' remaining messages, then what is not cut from the log yet;
     * nothing without a group.
     */
    List<BrowsedMessage> waiting(Connection connection, int limit) throws SQLException;

    /** The channel's dead letters (mode=topic: the group's, or every group's without one), oldest first. */
    List<BrowsedMessage> deadLetters(Connection connection, int limit) throws SQLException;

    /** Decodes the headers as the channel's consumers do. */
    MessageCodec codec();
}
