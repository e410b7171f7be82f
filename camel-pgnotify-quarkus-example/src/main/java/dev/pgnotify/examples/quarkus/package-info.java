/**
 * The Quarkus example: {@code POST /orders} saves an order and publishes its event in one {@code @Transactional}
 * method ({@link dev.pgnotify.examples.quarkus.OrderService}); a transacted route ships each order from its event
 * ({@link dev.pgnotify.examples.quarkus.ShippingRoutes}); the database is the one {@code quarkus.datasource.jdbc.url}
 * names, else an embedded PostgreSQL ({@link dev.pgnotify.examples.quarkus.EmbeddedDatabaseConfig}).
 */
package dev.pgnotify.examples.quarkus;
