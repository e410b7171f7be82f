/**
 * Creating and verifying a mode's schema: the catalog queries, and {@link dev.pgnotify.camel.schema.SchemaInstaller},
 * which creates what is missing once, under an advisory lock, or names it. The modes list their objects.
 */
package dev.pgnotify.camel.schema;
