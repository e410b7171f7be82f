/**
 * The claim engine that mode=queue and mode=topic share: consumers lease items from a table, deliver them and
 * acknowledge them, at least once. {@link dev.pgnotify.camel.claim.ClaimingConsumer} is the consumer and names its
 * parts; each part's class comment states the invariants it keeps and where. A mode supplies a
 * {@link dev.pgnotify.camel.claim.WorkStore} (its SQL) and the headers of its exchanges. Uses {@code channel},
 * {@code connection}, {@code listen}, {@code admin} (health) and {@code spi} (transactions), and the options, headers
 * and exceptions of the root package; nothing below the modes imports this package.
 */
package dev.pgnotify.camel.claim;
