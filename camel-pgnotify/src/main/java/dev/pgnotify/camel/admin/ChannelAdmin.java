package dev.pgnotify.camel.admin;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.pgnotify.camel.PgNotifyStatistics;

/**
 * What operators do with a channel of a durable mode: measure it, and deliver again or discard its dead letters.
 * Each call runs on a pooled connection given by the caller, within the caller's bounds.
 */
public interface ChannelAdmin {

    /** The channel's figures: one for mode=queue, one per group (of the endpoint's group only, when set) for topic. */
    List<PgNotifyStatistics> statistics(Connection connection) throws SQLException;

    /**
     * Puts dead letters back to be delivered again, as new messages (mode=queue) or new items of their group
     * (mode=topic, while the log still holds them); {@code ids} null for all of the channel's (the group's). Returns
     * how many.
     */
    int requeueDeadLetters(Connection connection, String group, Long[] ids) throws SQLException;

    /** Deletes dead letters; {@code ids} null for all of the channel's (the group's). Returns how many. */
    int purgeDeadLetters(Connection connection, String group, Long[] ids) throws SQLException;
}
