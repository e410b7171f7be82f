package dev.pgnotify.camel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PgIdentifiersTest {

    @ParameterizedTest
    @ValueSource(strings = { "orders", "Orders", "MixedCase_Channel", "sample_channel", "a.b:c-d/e$f", "commandes_été",
            "x" })
    void acceptsNamesPostgresUsesAsWritten(String channel) {
        assertEquals(channel, PgIdentifiers.requireValidChannel(channel));
    }

    @Test
    void acceptsExactly63Bytes() {
        String name = "c".repeat(63);
        assertEquals(name, PgIdentifiers.requireValidChannel(name));
    }

    @Test
    void rejects64BytesAndSaysWhy() {
        var e = assertThrows(PgNotifyInvalidChannelException.class,
                () -> PgIdentifiers.requireValidChannel("c".repeat(64)));
        assertTrue(e.getMessage().contains("64 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("at most 63 bytes"), e.getMessage());
    }

    @Test
    void countsBytesNotCharacters() {
        // 32 two-byte characters: 32 characters but 64 bytes, which PostgreSQL would truncate
        var e = assertThrows(PgNotifyInvalidChannelException.class,
                () -> PgIdentifiers.requireValidChannel("é".repeat(32)));
        assertTrue(e.getMessage().contains("64 bytes"), e.getMessage());
    }

    @Test
    void rejectsEmpty() {
        var e = assertThrows(PgNotifyInvalidChannelException.class, () -> PgIdentifiers.requireValidChannel(""));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = { "x\"; DROP TABLE t; --", "a b", "a'b", "a;b", "a\u0000b", "tab\there" })
    void rejectsCharactersAChannelHasNoBusinessContaining(String channel) {
        var e = assertThrows(PgNotifyInvalidChannelException.class, () -> PgIdentifiers.requireValidChannel(channel));
        assertTrue(e.getMessage().contains("may only contain"), e.getMessage());
    }

    @Test
    void quotingKeepsTheNameExactlyAsWritten() {
        assertEquals("\"MixedCase\"", PgIdentifiers.quote("MixedCase"));
        assertEquals("\"x\"\"; DROP TABLE t; --\"", PgIdentifiers.quote("x\"; DROP TABLE t; --"));
    }
}
