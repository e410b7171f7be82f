package dev.pgnotify.camel;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Validation and quoting of the names pgnotify writes into SQL text (channels cannot be bound as parameters in
 * {@code LISTEN}). Quoting keeps the name exactly as written, mixed case included; validation rejects anything a
 * channel name has no business containing before any SQL is run.
 */
public final class PgIdentifiers {

    /** PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names are silently truncated by LISTEN. */
    public static final int MAX_IDENTIFIER_BYTES = 63;

    private static final Pattern CHANNEL = Pattern.compile("[\\p{L}\\p{N}_.:$/-]+");

    private PgIdentifiers() {
    }

    /**
     * Returns the channel name if PostgreSQL would use it exactly as written, otherwise throws a
     * {@link PgNotifyInvalidChannelException} that says why.
     */
    public static String requireValidChannel(String channel) {
        if (channel == null || channel.isEmpty()) {
            throw new PgNotifyInvalidChannelException(
                    "The channel name is empty: write pgnotify:<channel>, for example pgnotify:orders");
        }
        int bytes = channel.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_IDENTIFIER_BYTES) {
            throw new PgNotifyInvalidChannelException(
                    "The channel name '" + channel + "' is " + bytes + " bytes long; PostgreSQL channel names are"
                                                      + " identifiers of at most " + MAX_IDENTIFIER_BYTES + " bytes");
        }
        if (!CHANNEL.matcher(channel).matches()) {
            throw new PgNotifyInvalidChannelException(
                    "The channel name '" + channel + "' may only contain letters, digits and the characters _ . : $ / -");
        }
        return channel;
    }

    /** Validates a mode=topic consumer group: the same characters and length as a channel. */
    public static String requireValidGroup(String group) {
        if (group == null || group.isEmpty()) {
            throw new IllegalArgumentException("A mode=topic consumer needs a group: add group=<name> (every group"
                                               + " receives every message; the consumers of a group share them)");
        }
        int bytes = group.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_IDENTIFIER_BYTES || !CHANNEL.matcher(group).matches()) {
            throw new IllegalArgumentException("The group name '" + group + "' must be at most " + MAX_IDENTIFIER_BYTES
                                               + " bytes of letters, digits and the characters _ . : $ / -");
        }
        return group;
    }

    /**
     * Marks, in DDL text, where a function body's dollar quotes go; {@link #dollarQuoted} puts a tag there. Not a
     * character any validated name may contain.
     */
    public static final String BODY_QUOTE = "\u0001";

    /**
     * Puts a dollar-quote tag where {@link #BODY_QUOTE} marks the start and end of function bodies: {@code $pgnotify$},
     * or a numbered variant when the text contains that already. A table or schema name may contain {@code $$}, which
     * would end a body quoted with plain {@code $$} in its middle.
     */
    public static String dollarQuoted(String ddl) {
        String tag = "$pgnotify$";
        for (int n = 1; ddl.contains(tag); n++) {
            tag = "$pgnotify" + n + "$";
        }
        return ddl.replace(BODY_QUOTE, tag);
    }

    /**
     * Quotes an identifier for SQL text: the result names exactly the given string, whatever it contains.
     */
    public static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }
}
