/**
 * A Quarkus application of the extension's tests: routes on the default and on a named Agroal DataSource, a
 * {@code @Transactional} service that saves a row and sends a message, a transacted consumer.
 */
package dev.pgnotify.camel.quarkus.it;
