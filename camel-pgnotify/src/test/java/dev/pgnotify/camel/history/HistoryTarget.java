package dev.pgnotify.camel.history;

/**
 * Where a run's messages go: the channel and its queue table (mode=queue) or topic log (mode=topic), and what follows
 * from them: the endpoint URIs, the SQL a plain publisher inserts with, the dead-letter table.
 */
public record HistoryTarget(boolean topic, String channel, String table) {

    /** A run's target, named after its scenario and seed so that runs on one server never share a table. */
    static HistoryTarget of(HistoryScenario scenario, long seed, int round) {
        String suffix = Long.toHexString(seed) + (round > 0 ? "_" + round : "");
        String prefix = scenario.topic() ? "ht" : scenario.highIds() ? "hqh" : "hq";
        return new HistoryTarget(scenario.topic(), "history", prefix + "_" + suffix);
    }

    /** The producer's endpoint. */
    public String producerUri() {
        return "pgnotify:" + channel + (topic ? "?mode=topic&topicTable=" + table : "?table=" + table)
               + "&statementTimeout=5000&connectTimeout=3000";
    }

    /** A consumer's endpoint: the group's in mode=topic (null in mode=queue), with these options. */
    public String consumerUri(String group, String options) {
        String base = "pgnotify:" + channel + (topic ? "?mode=topic&topicTable=" + table + "&group=" + group
                                                       + "&groupStart=earliest" : "?table=" + table);
        return base + "&" + options;
    }

    /**
     * The INSERT of a plain SQL publisher: parameters channel, body, key, and in mode=queue priority and delay (ms);
     * returns the id.
     */
    public String insertSql() {
        if (topic) {
            return "INSERT INTO " + table + " (channel, body_text, message_key) VALUES (?, ?, ?) RETURNING id";
        }
        return "INSERT INTO " + table + " (channel, body_text, message_key, priority, available_at)"
               + " VALUES (?, ?, ?, ?, now() + ? * interval '1 millisecond') RETURNING id";
    }

    public String deadLetterTable() {
        return table + "_dead";
    }

    /** mode=topic: the table of the groups' batches (items), each a leased claim on some of the log's ids. */
    public String itemsTable() {
        return table + "_items";
    }

    /** The table whose rows hold leases: the queue itself, or the topic's items. */
    public String leasedTable() {
        return topic ? itemsTable() : table;
    }
}
