package dev.pgnotify.camel.connection;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * How the low-latency socket tells where TLS records begin: only there may its peek answer at once.
 */
class RecordBoundariesTest {

    @Test
    void aPlainConnectionIsAlwaysAtABoundary() {
        RecordBoundaries boundaries = new RecordBoundaries();
        // AuthenticationOk, as a server without TLS answers
        boundaries.read(new byte[] { 'R', 0, 0, 0, 8, 0, 0, 0, 0 }, 0, 9);
        assertFalse(boundaries.tls());
        assertTrue(boundaries.atBoundary());
        boundaries.read(new byte[] { 'A', 0, 0 }, 0, 2);
        assertTrue(boundaries.atBoundary());
    }

    @Test
    void afterTheServersYesToSslTlsRecordsAreFollowedAcrossReads() {
        RecordBoundaries boundaries = new RecordBoundaries();
        boundaries.read('S');
        assertTrue(boundaries.tls());
        assertTrue(boundaries.atBoundary());
        // a record of 300 bytes: header (type 23, version 3.3, length 0x012c), then its body in pieces
        byte[] header = { 23, 3, 3, 0x01, 0x2c };
        boundaries.read(header, 0, 3);
        assertFalse(boundaries.atBoundary(), "inside the header");
        boundaries.read(header, 3, 2);
        assertFalse(boundaries.atBoundary(), "header read, body to come");
        boundaries.read(new byte[200], 0, 200);
        assertFalse(boundaries.atBoundary(), "inside the body");
        boundaries.read(new byte[100], 0, 100);
        assertTrue(boundaries.atBoundary(), "the record is complete");
    }

    @Test
    void oneReadMayHoldTheEndOfARecordAndTheStartOfTheNext() {
        RecordBoundaries boundaries = new RecordBoundaries();
        boundaries.read('S');
        byte[] bytes = new byte[5 + 10 + 5 + 2];
        bytes[0] = 23;
        bytes[3] = 0;
        bytes[4] = 10;
        bytes[15] = 23;
        bytes[18] = 0;
        bytes[19] = 4;
        // the first record whole, the second's header and half its body
        boundaries.read(bytes, 0, bytes.length);
        assertFalse(boundaries.atBoundary());
        boundaries.read(new byte[2], 0, 2);
        assertTrue(boundaries.atBoundary());
    }

    @Test
    void directTlsStartsWithAHandshakeRecordAndGssIsNeverABoundary() {
        RecordBoundaries direct = new RecordBoundaries();
        direct.read(new byte[] { 22, 3, 3, 0, 1 }, 0, 5);
        assertTrue(direct.tls());
        assertFalse(direct.atBoundary());
        direct.read(0);
        assertTrue(direct.atBoundary());

        RecordBoundaries gss = new RecordBoundaries();
        gss.read('G');
        assertFalse(gss.atBoundary(), "a framing it does not follow: never answered at once");
    }
}
