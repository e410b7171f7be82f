package dev.pgnotify.camel;

/**
 * Every SQL statement pgnotify runs, named by what it does. Values are always bound as parameters; the only names
 * written into SQL text are validated and quoted by {@link PgIdentifiers}.
 */
final class PgNotifySql {

    static final String NOTIFY = "SELECT pg_notify(?, ?)";

    static final String CONNECTION_USES_SSL = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    private PgNotifySql() {
    }

    static String listen(String channel) {
        return "LISTEN " + PgIdentifiers.quote(channel);
    }
}
