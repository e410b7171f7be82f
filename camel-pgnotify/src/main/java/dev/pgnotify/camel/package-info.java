/**
 * The pgnotify component as Camel and its users see it: {@link dev.pgnotify.camel.PgNotifyComponent}, the endpoint
 * (which constructs each mode's producers and consumers), the options ({@link dev.pgnotify.camel.PgNotifyConfiguration}),
 * the headers ({@link dev.pgnotify.camel.PgNotifyConstants}), the exceptions and the dev console. The subpackages hold
 * how it works, in layers that depend one way, from the bottom: {@code connection} (JDBC access and its bounds),
 * {@code schema} (catalog checks), {@code listen} (the shared LISTEN connection and wake-ups), {@code admin}
 * (figures, dead letters, privileges, health), {@code channel} (the endpoint as the layers above see it), {@code claim}
 * (the lease engine of queue and topic consumers), {@code produce} (storing producers) and {@code browse} (what Camel's
 * browse tools show), then the modes
 * {@code notify}, {@code queue} and {@code topic}. {@code spi} is for integrations (transactions).
 */
package dev.pgnotify.camel;
