/**
 * What an integration provides to pgnotify: {@link dev.pgnotify.camel.spi.PgNotifyTransactions}, how producers join
 * the application's transactions and transacted consumers run in them (the Spring Boot starter implements it).
 */
package dev.pgnotify.camel.spi;
