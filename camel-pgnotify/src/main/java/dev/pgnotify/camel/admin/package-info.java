/**
 * What operators see and do: a channel's figures and its dead letters ({@link dev.pgnotify.camel.admin.EndpointAdmin},
 * each mode's {@link dev.pgnotify.camel.admin.ChannelAdmin}), the privilege checks made at start, and a consumer's
 * health check. Uses {@code connection} and {@code listen}; knows no mode (the endpoint hands it the mode's operations).
 */
package dev.pgnotify.camel.admin;
