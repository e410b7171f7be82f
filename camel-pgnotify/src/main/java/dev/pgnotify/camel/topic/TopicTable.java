package dev.pgnotify.camel.topic;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.PgNotifyConfiguration;

/**
 * The log table of mode=topic and the tables that go with it: its slots (the partitions that are emptied whole), the
 * groups, their cuts and work items, their dead letters, and the lag view. Names are validated and always quoted.
 */
public final class TopicTable {

    public static final String DEFAULT_TABLE = PgNotifyConfiguration.DEFAULT_TOPIC_TABLE;

    /** How many partitions the log rotates through. */
    static final int SLOTS = 4;
    /**
     * Per-key order: a cut puts keyed messages into items by a hash of their key, one set of items per bucket, so that
     * this many items can go in parallel while each key's messages stay in one bucket, in order.
     */
    static final int KEY_BUCKETS = 16;

    /** Leaves room for the suffixes of the table's companions within 63 bytes. */
    static final int MAX_NAME_BYTES = 48;

    private static final Pattern NAME = Pattern.compile("[\\p{L}_][\\p{L}\\p{N}_$]*");

    private final String schema;
    private final String name;

    private TopicTable(String schema, String name) {
        this.schema = schema;
        this.name = name;
    }

    /** Validates the option. An unqualified name lives in the connection's current schema ({@link #inSchema}). */
    public static TopicTable of(String table) {
        String qualified = table == null ? DEFAULT_TABLE : table;
        String[] parts = qualified.split("\\.", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException("topicTable '" + qualified + "' must be table or schema.table");
        }
        for (String part : parts) {
            if (!NAME.matcher(part).matches()) {
                throw new IllegalArgumentException("topicTable '" + qualified + "': '" + part
                                                   + "' must start with a letter or _ and contain only letters, digits, _ and $");
            }
            if (part.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                throw new IllegalArgumentException("topicTable '" + qualified + "': '" + part + "' is longer than "
                                                   + MAX_NAME_BYTES + " bytes");
            }
        }
        return parts.length == 2 ? new TopicTable(parts[0], parts[1]) : new TopicTable(null, parts[0]);
    }

    public TopicTable inSchema(String currentSchema) {
        TopicTable resolved = new TopicTable(schema != null ? schema : currentSchema, name);
        int bytes = resolved.wakeUpChannel().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > PgIdentifiers.MAX_IDENTIFIER_BYTES) {
            throw new IllegalArgumentException("The topic table " + resolved.display() + " names a wake-up channel of "
                                               + bytes + " bytes (schema.table); PostgreSQL allows "
                                               + PgIdentifiers.MAX_IDENTIFIER_BYTES + ": choose shorter names");
        }
        return resolved;
    }

    String schema() {
        return schema;
    }

    String name() {
        return name;
    }

    /** As users write it, for messages. */
    String display() {
        return schema + "." + name;
    }

    /** The quoted, qualified name of the log (the partitioned parent). */
    String sql() {
        return qualified(name);
    }

    /** A companion object of the log: its name is the log's followed by the suffix. */
    String companion(String suffix) {
        return qualified(name + suffix);
    }

    /** The unquoted name of a companion, for catalog look-ups and messages. */
    String companionName(String suffix) {
        return name + suffix;
    }

    String slotSql(int slot) {
        return companion("_" + slot);
    }

    String stateSql() {
        return companion("_state");
    }

    String groupsSql() {
        return companion("_groups");
    }

    String cutsSql() {
        return companion("_cuts");
    }

    /** The groups' work: batches of message ids, and retries of single messages. */
    String itemsSql() {
        return companion("_items");
    }

    String deadLetterSql() {
        return companion("_dead");
    }

    String deadLetterDisplay() {
        return schema + "." + name + "_dead";
    }

    String lagSql() {
        return companion("_lag");
    }

    String idSequenceSql() {
        return companion("_id_seq");
    }

    String slotFunctionSql() {
        return companion("_slot");
    }

    String cutFunctionSql() {
        return companion("_cut");
    }

    String loadFunctionSql() {
        return companion("_load");
    }

    String maintainFunctionSql() {
        return companion("_maintain");
    }

    String wakeUpFunctionSql() {
        return companion("_wake_up");
    }

    /**
     * The NOTIFY channel on which publishing to this log wakes consumers (payload: the topic channel). The trigger
     * derives it from TG_TABLE_SCHEMA and TG_TABLE_NAME.
     */
    String wakeUpChannel() {
        return schema + "." + name;
    }

    private String qualified(String object) {
        return schema != null ? PgIdentifiers.quote(schema) + "." + PgIdentifiers.quote(object)
                : PgIdentifiers.quote(object);
    }

    @Override
    public String toString() {
        return display();
    }
}
