/**
 * Producers that store messages (mode=queue and mode=topic): the body and headers encoded ({@link
 * dev.pgnotify.camel.produce.MessageCodec}), a message's key, expiry, deduplication, due time and priority ({@link
 * dev.pgnotify.camel.produce.Placement}), one INSERT on a pooled connection or on the caller's transaction, and the
 * wake-up after commit. Uses {@code channel}, {@code connection}, {@code listen}, {@code admin} and {@code spi}
 * (joining the caller's transaction).
 */
package dev.pgnotify.camel.produce;
