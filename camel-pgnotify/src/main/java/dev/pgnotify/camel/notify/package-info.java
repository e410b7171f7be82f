/**
 * mode=notify: plain LISTEN/NOTIFY, done right. The consumer subscribes to the component's shared LISTEN connection;
 * the producer sends a NOTIFY (its payload within PostgreSQL's 8,000-byte limit). Nothing is kept: what is sent while
 * nobody listens is lost, as PostgreSQL defines it. Uses {@code channel}, {@code listen} and {@code connection}.
 */
package dev.pgnotify.camel.notify;
