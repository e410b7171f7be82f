/**
 * JDBC access and every bound on it: the endpoint's pooled connections ({@link
 * dev.pgnotify.camel.connection.EndpointConnections}, the component's shared pools), each call bounded by connect and
 * statement timeouts ({@link dev.pgnotify.camel.connection.Database}) and watched by {@link
 * dev.pgnotify.camel.connection.CallWatchdog}, which closes a connection stuck past its bound (a half-open connection:
 * a dead NAT entry, a firewall, a failover); reads in a bounded transaction of their own that leaves an application's
 * connection as it came ({@link dev.pgnotify.camel.connection.ReadTransaction}). The low-latency socket of the LISTEN
 * connection lives here too. The bottom layer: imports nothing of pgnotify but the component's options and exceptions.
 */
package dev.pgnotify.camel.connection;
