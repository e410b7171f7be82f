/**
 * What an integration provides to pgnotify: {@link dev.pgnotify.camel.spi.PgNotifyTransactions}, how producers join
 * the application's transactions, transacted consumers run in them and pgnotify's own work stays out of them (the Spring
 * Boot starter and the Quarkus extension implement it).
 */
package dev.pgnotify.camel.spi;
