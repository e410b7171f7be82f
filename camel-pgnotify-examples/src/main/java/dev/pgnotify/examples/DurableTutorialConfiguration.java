package dev.pgnotify.examples;

/**
 * Applies the durable tutorial's schema (the tutorial's table, its trigger publishing to a topic) and binds the
 * DataSource the notifier inserts through.
 */
public class DurableTutorialConfiguration extends TutorialConfiguration {

    @Override
    protected String schemaResource() {
        return "/tutorial/durable-schema.sql";
    }
}
