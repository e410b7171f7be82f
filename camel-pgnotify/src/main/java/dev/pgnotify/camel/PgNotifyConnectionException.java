package dev.pgnotify.camel;

import java.sql.SQLException;

/**
 * PostgreSQL could not be reached or refused the login. The message names the server and the user, never the
 * password.
 */
public class PgNotifyConnectionException extends SQLException {

    private static final long serialVersionUID = 1L;

    public PgNotifyConnectionException(String message, Throwable cause) {
        super(message, cause instanceof SQLException sql ? sql.getSQLState() : null, cause);
    }
}
