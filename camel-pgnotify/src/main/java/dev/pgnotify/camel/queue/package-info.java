/**
 * mode=queue: each message a row of a queue table, claimed, delivered and acknowledged on its own by the claim engine
 * ({@code claim}); per-key order, delays, priorities, expiry, deduplication and dead letters. Here: the table and its
 * schema, its SQL ({@link dev.pgnotify.camel.queue.QueueSql}), its work store for the engine, its producer and its
 * operations. Uses {@code claim}, {@code produce}, {@code schema}, {@code admin}, {@code channel}, {@code connection}.
 */
package dev.pgnotify.camel.queue;
