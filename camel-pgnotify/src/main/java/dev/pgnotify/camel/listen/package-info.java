/**
 * Listening and wake-ups: the LISTEN connection a component shares among its consumers ({@link
 * dev.pgnotify.camel.listen.SharedListener}, opened and proven by {@link dev.pgnotify.camel.listen.ListenerConnections},
 * watched and re-established when it dies or freezes), the NOTIFYs producers send after their commit ({@link
 * dev.pgnotify.camel.listen.WakeUpSenders}) and the direct wake-ups within one application ({@link
 * dev.pgnotify.camel.listen.LocalWakeUps}). Uses {@code connection}.
 */
package dev.pgnotify.camel.listen;
