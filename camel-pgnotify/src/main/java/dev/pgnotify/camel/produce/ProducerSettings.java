package dev.pgnotify.camel.produce;

/**
 * The session settings by which a producer tells the table's triggers what it does itself (wakes the consumers after
 * its commit) and for how long a deduplication id stays taken; read by the triggers of mode=queue and mode=topic.
 */
public final class ProducerSettings {

    /**
     * Set in the transaction of a pgnotify producer's INSERT: the table's trigger then leaves the wake-up to the
     * producer, which sends it after commit from a connection of its own, so that concurrent producers do not queue up
     * behind PostgreSQL's commit-time NOTIFY lock.
     */
    public static final String WAKE_UP_SETTING = "pgnotify.wake_up";

    public static final String WAKE_UP_DEFERRED = "deferred";

    /**
     * How long (ms) a message's deduplication id stays taken after the message is gone; set by the producer for its
     * statement (a SQL publisher may set it too), read by the queue's deduplication trigger; unset is 0.
     */
    public static final String DEDUPLICATION_WINDOW_SETTING = "pgnotify.dedup_window";

    /**
     * Before a producer's INSERT inside the caller's transaction (a joined producer): keeps the settings the INSERT
     * sets for its transaction, so that {@link #RESTORE_SETTINGS} puts them back after it. Otherwise they would last
     * for the rest of the caller's transaction, silencing the wake-ups of its own later inserts into the table and
     * applying this producer's deduplication window to them.
     */
    public static final String SAVE_SETTINGS = "SELECT set_config('pgnotify.saved_wake_up', coalesce(current_setting('"
                                               + WAKE_UP_SETTING + "', true), ''), true),"
                                               + " set_config('pgnotify.saved_dedup_window',"
                                               + " coalesce(current_setting('" + "pgnotify.dedup_window"
                                               + "', true), ''), true)";

    /** After a joined producer's INSERT: see {@link #SAVE_SETTINGS}. */
    public static final String RESTORE_SETTINGS = "SELECT set_config('" + WAKE_UP_SETTING
                                                  + "', current_setting('pgnotify.saved_wake_up', true), true),"
                                                  + " set_config('pgnotify.dedup_window',"
                                                  + " current_setting('pgnotify.saved_dedup_window', true), true)";

    private ProducerSettings() {
    }
}
