package dev.pgnotify.camel;

import javax.sql.DataSource;

import org.apache.camel.RuntimeCamelException;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriParams;

/**
 * Every option of a pgnotify endpoint. Set on the component, an option applies to every endpoint that does not set
 * it itself.
 */
@UriParams
public class PgNotifyConfiguration implements Cloneable {

    @UriParam(label = "common")
    private DataSource dataSource;
    @UriParam(label = "common")
    private String jdbcUrl;
    @UriParam(label = "security", secret = true)
    private String username;
    @UriParam(label = "security", secret = true)
    private String password;
    @UriParam(label = "common", defaultValue = "queue", enums = "queue,notify")
    private PgNotifyMode mode = PgNotifyMode.QUEUE;
    @UriParam(label = "advanced", defaultValue = "10")
    private int maxPoolSize = 10;

    @UriParam(label = "consumer,advanced", defaultValue = "2000", javaType = "java.time.Duration")
    private long connectionCheckInterval = 2000;
    @UriParam(label = "consumer,advanced", defaultValue = "100", javaType = "java.time.Duration")
    private long reconnectDelay = 100;
    @UriParam(label = "consumer,advanced", defaultValue = "30000", javaType = "java.time.Duration")
    private long maxReconnectDelay = 30000;
    @UriParam(label = "consumer,advanced", defaultValue = "true")
    private boolean lowLatencyListener = true;

    public PgNotifyConfiguration copy() {
        try {
            return (PgNotifyConfiguration) clone();
        } catch (CloneNotSupportedException e) {
            throw new RuntimeCamelException(e);
        }
    }

    public DataSource getDataSource() {
        return dataSource;
    }

    /**
     * The PostgreSQL database, as a DataSource bean (for example #bean:myDataSource). Takes precedence over jdbcUrl.
     * pgnotify borrows connections from it for short statements; the consumer's LISTEN connection is opened
     * separately, with the same URL and credentials when the DataSource is HikariCP or pgjdbc's own.
     */
    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public String getJdbcUrl() {
        return jdbcUrl;
    }

    /**
     * The PostgreSQL database as a JDBC URL, for example jdbc:postgresql://localhost:5432/app. The component builds
     * one HikariCP pool per distinct URL and user, shared by all its endpoints; consumers LISTEN on a dedicated
     * connection outside that pool.
     */
    public void setJdbcUrl(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    public String getUsername() {
        return username;
    }

    /**
     * The database user, used with jdbcUrl.
     */
    public void setUsername(String username) {
        this.username = username;
    }

    public String getPassword() {
        return password;
    }

    /**
     * The database password, used with jdbcUrl. It is never logged nor put in an error message.
     */
    public void setPassword(String password) {
        this.password = password;
    }

    public PgNotifyMode getMode() {
        return mode;
    }

    /**
     * queue (the default) keeps every message in a table until a consumer has processed it: nothing is lost while
     * consumers are down, bodies may be of any size, and the consumers of a channel share its messages. notify is
     * plain LISTEN/NOTIFY: every consumer of a channel receives every notification, bodies are limited to 7999
     * bytes, and what is sent while a consumer is disconnected is lost.
     */
    public void setMode(PgNotifyMode mode) {
        this.mode = mode;
    }

    public int getMaxPoolSize() {
        return maxPoolSize;
    }

    /**
     * The largest number of connections of the pool the component builds from jdbcUrl. Not used with dataSource.
     */
    public void setMaxPoolSize(int maxPoolSize) {
        this.maxPoolSize = maxPoolSize;
    }

    public long getConnectionCheckInterval() {
        return connectionCheckInterval;
    }

    /**
     * How long the consumer waits for a notification before it checks that its LISTEN connection is still alive.
     * Bounds how long a silently broken network goes unnoticed.
     */
    public void setConnectionCheckInterval(long connectionCheckInterval) {
        this.connectionCheckInterval = connectionCheckInterval;
    }

    public long getReconnectDelay() {
        return reconnectDelay;
    }

    /**
     * The delay before the consumer's first attempt to reconnect after its LISTEN connection was lost. Each further
     * failed attempt doubles it, up to maxReconnectDelay; a successful LISTEN resets it.
     */
    public void setReconnectDelay(long reconnectDelay) {
        this.reconnectDelay = reconnectDelay;
    }

    public long getMaxReconnectDelay() {
        return maxReconnectDelay;
    }

    /**
     * The longest delay between two reconnect attempts of the consumer.
     */
    public void setMaxReconnectDelay(long maxReconnectDelay) {
        this.maxReconnectDelay = maxReconnectDelay;
    }

    public boolean isLowLatencyListener() {
        return lowLatencyListener;
    }

    /**
     * Hands each notification to the route as soon as it arrives. pgjdbc otherwise keeps reading while further
     * notifications arrive within a millisecond of each other, so under a steady stream it returns them in late
     * batches (tens to hundreds of milliseconds). Not applied on SSL connections.
     */
    public void setLowLatencyListener(boolean lowLatencyListener) {
        this.lowLatencyListener = lowLatencyListener;
    }
}
