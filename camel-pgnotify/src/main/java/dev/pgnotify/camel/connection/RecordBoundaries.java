package dev.pgnotify.camel.connection;

/**
 * Follows the bytes a connection reads from its socket, to tell when the next byte begins a new unit that a peek may
 * find missing without harm. On a plain connection that is always so: pgjdbc buffers whatever it reads. Over TLS it
 * is so only between two TLS records: the JDK's TLS layer reads a record's 5-byte header, then its body, and a read
 * that failed inside a record would lose the part already read.
 * <p>
 * Which one a connection is shows in its first byte: the server's answer to pgjdbc's SSLRequest ({@code 'S'}: TLS
 * follows), or the first byte of a TLS record (22, a handshake, with direct TLS negotiation); anything else is plain
 * PostgreSQL protocol, except a GSSAPI encryption answer ({@code 'G'}), whose framing is not followed: such a
 * connection never counts as between units. Used by one reading thread at a time.
 */
final class RecordBoundaries {

    private static final int TLS_HEADER_BYTES = 5;
    private static final int TLS_HANDSHAKE = 22;

    private enum Framing {
        NOT_STARTED,
        PLAIN,
        TLS,
        UNKNOWN
    }

    private Framing framing = Framing.NOT_STARTED;
    /** TLS: how many bytes of the current record's header have been read (0: none, at a boundary or in a body). */
    private int headerRead;
    private int lengthHigh;
    /** TLS: how many bytes of the current record's body are still to come. */
    private int bodyRemaining;

    /** Whether the next byte read begins a new unit (a TLS record, or anything on a plain connection). */
    boolean atBoundary() {
        return switch (framing) {
            case NOT_STARTED, PLAIN -> true;
            case TLS -> headerRead == 0 && bodyRemaining == 0;
            case UNKNOWN -> false;
        };
    }

    /** Whether the connection was found to speak TLS. */
    boolean tls() {
        return framing == Framing.TLS;
    }

    void read(int b) {
        read(new byte[] { (byte) b }, 0, 1);
    }

    void read(byte[] bytes, int offset, int length) {
        int i = offset;
        int end = offset + length;
        if (i < end && framing == Framing.NOT_STARTED) {
            int first = bytes[i] & 0xff;
            if (first == 'S') {
                framing = Framing.TLS;
                i++;
            } else if (first == TLS_HANDSHAKE) {
                framing = Framing.TLS;
            } else if (first == 'G') {
                framing = Framing.UNKNOWN;
            } else {
                framing = Framing.PLAIN;
            }
        }
        if (framing != Framing.TLS) {
            return;
        }
        while (i < end) {
            if (bodyRemaining > 0) {
                int skipped = Math.min(bodyRemaining, end - i);
                bodyRemaining -= skipped;
                i += skipped;
                continue;
            }
            int b = bytes[i++] & 0xff;
            headerRead++;
            if (headerRead == TLS_HEADER_BYTES - 1) {
                lengthHigh = b;
            } else if (headerRead == TLS_HEADER_BYTES) {
                bodyRemaining = lengthHigh << 8 | b;
                headerRead = 0;
            }
        }
    }
}
