/**
 * The endpoint as the producers, consumers and operations of its channel see it ({@link
 * dev.pgnotify.camel.channel.ChannelEndpoint}), and what they share of it. Uses the connection, listening and
 * admin packages; the modes and the claim engine use it; only the endpoint implements it.
 */
package dev.pgnotify.camel.channel;
