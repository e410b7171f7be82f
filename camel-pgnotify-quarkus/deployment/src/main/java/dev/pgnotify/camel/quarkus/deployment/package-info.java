/**
 * The build steps of the pgnotify Quarkus extension: what Quarkus must know of pgnotify at build time (the feature, the
 * beans, the health check, Camel's service files, and for a native build the classes created by name and the
 * component's metadata).
 */
package dev.pgnotify.camel.quarkus.deployment;
