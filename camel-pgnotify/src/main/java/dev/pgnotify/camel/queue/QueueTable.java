package dev.pgnotify.camel.queue;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import dev.pgnotify.camel.PgIdentifiers;
import dev.pgnotify.camel.PgNotifyConfiguration;

/**
 * The queue table of mode=queue and the objects that go with it: its dead-letter table, claim index and wake-up
 * trigger. Names are validated and always quoted, so they are used exactly as written.
 */
public final class QueueTable {

    public static final String DEFAULT_TABLE = PgNotifyConfiguration.DEFAULT_QUEUE_TABLE;

    /** Leaves room for the suffixes of the table's index, trigger and function within 63 bytes. */
    static final int MAX_NAME_BYTES = 48;

    private static final Pattern NAME = Pattern.compile("[\\p{L}_][\\p{L}\\p{N}_$]*");

    private final String schema;
    private final String name;
    private final String deadSchema;
    private final String deadName;

    private QueueTable(String schema, String name, String deadSchema, String deadName) {
        this.schema = schema;
        this.name = name;
        this.deadSchema = deadSchema;
        this.deadName = deadName;
    }

    /**
     * Validates the table options. An unqualified name lives in the connection's current schema, which
     * {@link #inSchema(String)} fills in once connected.
     */
    public static QueueTable of(String table, String deadLetterTable) {
        String[] queue = split("table", table == null ? DEFAULT_TABLE : table);
        String[] dead = deadLetterTable != null ? split("deadLetterTable", deadLetterTable)
                : new String[] { queue[0], queue[1] + "_dead" };
        return new QueueTable(queue[0], queue[1], dead[0], dead[1]);
    }

    /** The same tables, with the current schema where none was named. */
    public QueueTable inSchema(String currentSchema) {
        QueueTable resolved = new QueueTable(schema != null ? schema : currentSchema, name,
                deadSchema != null ? deadSchema : currentSchema, deadName);
        int bytes = resolved.wakeUpChannel().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > PgIdentifiers.MAX_IDENTIFIER_BYTES) {
            throw new IllegalArgumentException("The queue table " + resolved.display() + " names a wake-up channel of "
                                               + bytes + " bytes (schema.table); PostgreSQL allows "
                                               + PgIdentifiers.MAX_IDENTIFIER_BYTES + ": choose shorter names");
        }
        return resolved;
    }

    private static String[] split(String option, String qualifiedName) {
        String[] parts = qualifiedName.split("\\.", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException(option + " '" + qualifiedName + "' must be table or schema.table");
        }
        for (String part : parts) {
            if (!NAME.matcher(part).matches()) {
                throw new IllegalArgumentException(option + " '" + qualifiedName + "': '" + part
                                                   + "' must start with a letter or _ and contain only letters, digits, _ and $");
            }
            if (part.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                throw new IllegalArgumentException(option + " '" + qualifiedName + "': '" + part + "' is longer than "
                                                   + MAX_NAME_BYTES + " bytes");
            }
        }
        return parts.length == 2 ? parts : new String[] { null, parts[0] };
    }

    String schema() {
        return schema;
    }

    String name() {
        return name;
    }

    /** The quoted, qualified name for SQL text. */
    String sql() {
        return qualified(schema, name);
    }

    String deadLetterSql() {
        return qualified(deadSchema, deadName);
    }

    /** As users write it, for messages. */
    String display() {
        return schema + "." + name;
    }

    String deadLetterDisplay() {
        return deadSchema + "." + deadName;
    }

    String claimIndexName() {
        return name + "_claim";
    }

    /** The table that remembers deduplication ids (while their message exists, and for a window after). */
    String deduplicationSql() {
        return qualified(schema, name + "_dedup");
    }

    String deduplicationDisplay() {
        return schema + "." + name + "_dedup";
    }

    /** The trigger (and its function) that enqueues a message only if its deduplication id is free. */
    String deduplicationTriggerName() {
        return name + "_dedup";
    }

    String deduplicationFunctionSql() {
        return qualified(schema, deduplicationTriggerName());
    }

    /**
     * The trigger (and its function) that starts the deduplication windows of the messages a statement deleted, once
     * per statement.
     */
    String deduplicationWindowTriggerName() {
        return name + "_dedup_window";
    }

    String deduplicationWindowFunctionSql() {
        return qualified(schema, deduplicationWindowTriggerName());
    }

    /**
     * An earlier version's trigger (and function) that started one message's window, once per row: replaced by
     * {@link #deduplicationWindowTriggerName()}.
     */
    String deduplicationDoneTriggerName() {
        return name + "_dedup_done";
    }

    String deduplicationDoneFunctionSql() {
        return qualified(schema, deduplicationDoneTriggerName());
    }

    /** The index of keyed messages: per-key order looks up a message's predecessors of the same key in it. */
    String keyIndexName() {
        return name + "_key";
    }

    /** The index of prioritized messages: claims take the highest priority first from it. */
    String priorityIndexName() {
        return name + "_priority";
    }

    String wakeUpTriggerName() {
        return name + "_wake_up";
    }

    /** The quoted, qualified name of the trigger function. */
    String wakeUpFunctionSql() {
        return qualified(schema, name + "_wake_up");
    }

    /** The trigger that gives an inserting transaction its id before its rows draw theirs (see ClaimCursor). */
    String xidTriggerName() {
        return name + "_xid";
    }

    String xidFunctionSql() {
        return qualified(schema, xidTriggerName());
    }

    /**
     * The NOTIFY channel on which inserts into this table wake consumers (with the queue channel as payload). The
     * trigger derives it from TG_TABLE_SCHEMA and TG_TABLE_NAME, so it must stay in step with this.
     */
    String wakeUpChannel() {
        return schema + "." + name;
    }

    private static String qualified(String schema, String name) {
        return schema != null ? PgIdentifiers.quote(schema) + "." + PgIdentifiers.quote(name) : PgIdentifiers.quote(name);
    }

    @Override
    public String toString() {
        return display();
    }
}
