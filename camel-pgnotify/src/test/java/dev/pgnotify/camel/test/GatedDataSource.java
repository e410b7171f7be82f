package dev.pgnotify.camel.test;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.function.Predicate;
import java.util.logging.Logger;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;

/**
 * A real pool behind a getConnection that can be made to hang uninterruptibly, as an application's DataSource whose
 * getConnection waits on a monitor a misbehaving part of the application holds: whoever holds {@link #gate()} makes
 * the borrows of the threads it applies to wait, where neither a closed connection nor an interrupt reaches them.
 */
public final class GatedDataSource implements DataSource {

    private final Object gate = new Object();
    private final HikariDataSource delegate;
    private final Predicate<Thread> gated;

    /** {@code gated}: the threads whose borrows wait at the gate (others borrow freely). */
    public GatedDataSource(HikariDataSource delegate, Predicate<Thread> gated) {
        this.delegate = delegate;
        this.gated = gated;
    }

    /** The monitor to hold (synchronized) for as long as borrows must hang. */
    public Object gate() {
        return gate;
    }

    @Override
    public Connection getConnection() throws SQLException {
        if (gated.test(Thread.currentThread())) {
            synchronized (gate) {
                return delegate.getConnection();
            }
        }
        return delegate.getConnection();
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return getConnection();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return delegate.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return delegate.isWrapperFor(type);
    }

    @Override
    public PrintWriter getLogWriter() {
        return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
    }

    @Override
    public void setLoginTimeout(int seconds) {
    }

    @Override
    public int getLoginTimeout() {
        return 0;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }
}
