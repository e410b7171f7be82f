/**
 * What Camel's browsing tools (Hawtio's Browse tab, {@code camel browse} of Camel JBang, the browse dev console) show
 * of a channel: the messages a queue (a topic group) has not processed yet, oldest first, and its dead letters, each
 * decoded as a consumer would receive it. Every read is bounded: at most the endpoint's browseLimit rows, read in the
 * order of an index, within a statement timeout. The modes {@code queue} and {@code topic} provide the SQL
 * ({@link dev.pgnotify.camel.browse.ChannelBrowse}); {@link dev.pgnotify.camel.browse.EndpointBrowser} turns rows into
 * exchanges for the endpoint.
 */
package dev.pgnotify.camel.browse;
