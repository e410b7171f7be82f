package dev.pgnotify.camel;

import javax.sql.DataSource;

import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.RuntimeCamelException;
import org.apache.camel.spi.HeaderFilterStrategy;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriParams;

/**
 * Every option of a pgnotify endpoint. Set on the component, an option applies to every endpoint that does not set
 * it itself.
 * <p>
 * Longer than a class here should be: it holds every option of the endpoint with its documentation for users, in
 * one class as Camel's components do.
 */
@UriParams
public class PgNotifyConfiguration implements Cloneable {

    /** The queue table when none is named (the LISTEN/NOTIFY tutorial's table name). */
    public static final String DEFAULT_QUEUE_TABLE = "message_queue";
    /** The topic's log when none is named. */
    public static final String DEFAULT_TOPIC_TABLE = "message_topic";

    @UriParam(label = "common")
    @Metadata(autowired = true)
    private DataSource dataSource;
    @UriParam(label = "common")
    private String jdbcUrl;
    @UriParam(label = "security", secret = true)
    private String username;
    @UriParam(label = "security", secret = true)
    private String password;
    @UriParam(label = "common", defaultValue = "queue", enums = "queue,topic,notify")
    private PgNotifyMode mode = PgNotifyMode.QUEUE;
    @UriParam(label = "advanced", defaultValue = "10")
    private int maxPoolSize = 10;
    @UriParam(label = "common,advanced", defaultValue = "10000", javaType = "java.time.Duration")
    private long connectTimeout = 10000;
    @UriParam(label = "common,advanced", defaultValue = "20000", javaType = "java.time.Duration")
    private long statementTimeout = 20000;

    @UriParam(label = "common", defaultValue = "message_queue")
    private String table = DEFAULT_QUEUE_TABLE;
    @UriParam(label = "common,advanced")
    private String deadLetterTable;
    @UriParam(label = "common,advanced", defaultValue = "true")
    private boolean createSchema = true;
    @UriParam(label = "common,advanced", defaultValue = "true")
    private boolean storeJsonAsJsonb = true;
    @UriParam(label = "common,advanced")
    private HeaderFilterStrategy headerFilterStrategy;

    @UriParam(label = "common", defaultValue = "message_topic")
    private String topicTable = DEFAULT_TOPIC_TABLE;
    @UriParam(label = "consumer")
    private String group;
    @UriParam(label = "consumer", defaultValue = "latest", enums = "latest,earliest")
    private String groupStart = "latest";
    @UriParam(label = "common", defaultValue = "0", javaType = "java.time.Duration")
    private long retention;
    @UriParam(label = "common", defaultValue = "604800000", javaType = "java.time.Duration")
    private long maxRetention = 7L * 24 * 60 * 60 * 1000;
    @UriParam(label = "common,advanced", defaultValue = "60000", javaType = "java.time.Duration")
    private long rotateInterval = 60000;

    @UriParam(label = "producer", defaultValue = "false")
    private boolean batch;
    @UriParam(label = "advanced")
    @Metadata(autowired = true)
    private PgNotifyTransactions transactions;

    @UriParam(label = "consumer", defaultValue = "1")
    private int concurrentConsumers = 1;
    @UriParam(label = "consumer", defaultValue = "100")
    private int maxMessagesPerPoll = 100;
    @UriParam(label = "consumer,advanced", defaultValue = "16777216")
    private long maxBytesPerPoll = 16L * 1024 * 1024;
    @UriParam(label = "consumer", defaultValue = "1000", javaType = "java.time.Duration")
    private long pollInterval = 1000;
    @UriParam(label = "consumer", defaultValue = "30000", javaType = "java.time.Duration")
    private long leaseTime = 30000;
    @UriParam(label = "consumer", defaultValue = "10")
    private int maxAttempts = 10;
    @UriParam(label = "consumer", defaultValue = "false")
    private boolean transacted;
    @UriParam(label = "consumer", defaultValue = "false")
    private boolean dropExpired;
    @UriParam(label = "producer", defaultValue = "0", javaType = "java.time.Duration")
    private long timeToLive;
    @UriParam(label = "producer", defaultValue = "0", javaType = "java.time.Duration")
    private long deduplicationWindow;
    @UriParam(label = "consumer", defaultValue = "1000", javaType = "java.time.Duration")
    private long retryDelay = 1000;
    @UriParam(label = "consumer", defaultValue = "2.0")
    private double retryMultiplier = 2.0;
    @UriParam(label = "consumer", defaultValue = "300000", javaType = "java.time.Duration")
    private long maxRetryDelay = 300000;

    @UriParam(label = "consumer,advanced", defaultValue = "2000", javaType = "java.time.Duration")
    private long connectionCheckInterval = 2000;
    @UriParam(label = "consumer,advanced", defaultValue = "100", javaType = "java.time.Duration")
    private long reconnectDelay = 100;
    @UriParam(label = "consumer,advanced", defaultValue = "30000", javaType = "java.time.Duration")
    private long maxReconnectDelay = 30000;
    @UriParam(label = "consumer,advanced", defaultValue = "true")
    private boolean lowLatencyListener = true;
    @UriParam(label = "common", defaultValue = "true")
    private boolean listen = true;
    @UriParam(label = "advanced", defaultValue = "waiting", enums = "waiting,deadLetters")
    private String browse = "waiting";
    @UriParam(label = "advanced", defaultValue = "100")
    private int browseLimit = 100;

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
     * The DataSource pgnotify uses: the configured one, unless a jdbcUrl is set too (the component's DataSource may have
     * been autowired, the application's, which must not override a URL set for pgnotify).
     */
    public DataSource effectiveDataSource() {
        return jdbcUrl != null ? null : dataSource;
    }

    /**
     * The PostgreSQL database, as a DataSource bean (for example #bean:myDataSource). Autowired: when neither this nor
     * jdbcUrl is set, the registry's only DataSource is used (in Spring Boot, the application's). A jdbcUrl set at the
     * same level (component or endpoint) takes precedence. pgnotify borrows connections from it for short statements;
     * the consumer's LISTEN connection is opened separately, with the same URL and credentials when the DataSource is
     * HikariCP or pgjdbc's own. Producers join the caller's transactions on this DataSource (see transactions).
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
     * consumers are down, bodies may be of any size, and the consumers of a channel share its messages. topic is
     * durable broadcast: every consumer group (the group option) receives every message, the consumers of a group
     * share them, and a group that was away catches up on what it missed. notify is plain LISTEN/NOTIFY: every
     * consumer of a channel receives every notification, bodies are limited to 7999 bytes, and what is sent while a
     * consumer is disconnected is lost.
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

    public long getConnectTimeout() {
        return connectTimeout;
    }

    /**
     * The longest pgnotify waits to open a connection (TCP connect and login) or to borrow one from the pool. A
     * database that cannot be reached fails the call after this bound instead of hanging it.
     */
    public void setConnectTimeout(long connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public long getStatementTimeout() {
        return statementTimeout;
    }

    /**
     * The longest any statement pgnotify runs may take, from sending it to its last result: a claim, an
     * acknowledgement, a retry, a lease renewal, a dead-lettering, a producer's INSERT or NOTIFY, a schema check. A
     * statement still running then has its connection closed and fails with a PgNotifyTimeoutException; this is how a
     * half-open connection (a dead NAT entry, a firewall, a failed-over database) is noticed and replaced. Keep it
     * above the longest legitimate statement: inserting or claiming large bodies takes longer (a 50 MB body about a
     * second on a local server), so raise it if you send bodies of hundreds of megabytes over a slow network. The
     * component's own pooled sessions also run with this statement_timeout on the server.
     */
    public void setStatementTimeout(long statementTimeout) {
        this.statementTimeout = statementTimeout;
    }

    public String getTable() {
        return table;
    }

    /**
     * mode=queue: the queue table, optionally schema-qualified (schema.table); names are used exactly as written, case
     * included. Several channels share a table. Created on start unless createSchema=false.
     */
    public void setTable(String table) {
        this.table = table;
    }

    public String getTopicTable() {
        return topicTable;
    }

    /**
     * mode=topic: the log table, optionally schema-qualified (schema.table); names are used exactly as written, case
     * included, at most 48 bytes each. Several channels share a log. Its companions (partitions _0 to _3, _groups,
     * _cuts, _items, _dead, the _lag view, functions) are named after it. Created on start unless createSchema=false.
     */
    public void setTopicTable(String topicTable) {
        this.topicTable = topicTable;
    }

    public String getGroup() {
        return group;
    }

    /**
     * mode=topic, required for consumers: the consumer group. Every group receives every message of the channel; the
     * consumers of one group (threads, routes and applications alike) share its messages, each delivered to one of
     * them. A group is registered the first time one of its consumers starts, and keeps its place while none runs.
     * Letters, digits and _ . : $ / -, at most 63 bytes.
     */
    public void setGroup(String group) {
        this.group = group;
    }

    public String getGroupStart() {
        return groupStart;
    }

    /**
     * mode=topic: where a group starts when its first consumer registers it: latest receives the messages published
     * from then on; earliest also those the log still holds (see retention). A registered group always resumes where
     * it stopped.
     */
    public void setGroupStart(String groupStart) {
        this.groupStart = groupStart;
    }

    public long getRetention() {
        return retention;
    }

    /**
     * mode=topic: how long messages stay in the log after every group has processed them, for groups that start from
     * the earliest later on. With 0 (the default) a message is removed once every registered group has processed it.
     * Storage is reclaimed by emptying whole partitions, never by deleting rows, so a message may stay up to about
     * twice the rotateInterval longer.
     */
    public void setRetention(long retention) {
        this.retention = retention;
    }

    public long getMaxRetention() {
        return maxRetention;
    }

    /**
     * mode=topic: the longest a message stays in the log, whether or not every group has processed it: the bound on
     * the storage a group that stopped for good (or is very slow) can hold on to. A group that had not processed a
     * message removed this way logs a warning naming it, and skips the message. Remove a group that is gone for good
     * from the _groups table instead of waiting for this.
     */
    public void setMaxRetention(long maxRetention) {
        this.maxRetention = maxRetention;
    }

    public long getRotateInterval() {
        return rotateInterval;
    }

    /**
     * mode=topic: how long new messages go to one partition of the log before the next takes over (once that one has
     * been emptied). Partitions are emptied whole when no group needs them: shorter intervals reclaim storage sooner,
     * longer ones make fewer, larger partitions.
     */
    public void setRotateInterval(long rotateInterval) {
        this.rotateInterval = rotateInterval;
    }

    public String getDeadLetterTable() {
        return deadLetterTable;
    }

    /**
     * mode=queue: the table that keeps messages whose attempts are exhausted, with their last error. Defaults to the
     * queue table's name followed by _dead, in the same schema.
     */
    public void setDeadLetterTable(String deadLetterTable) {
        this.deadLetterTable = deadLetterTable;
    }

    public boolean isCreateSchema() {
        return createSchema;
    }

    /**
     * mode=queue and topic: create the queue table (or the topic's log and its companions), dead-letter table, indexes
     * and wake-up trigger on start when they are missing (safe when several applications start at once). With false, start-up only verifies them and fails
     * naming what is missing. Either way an existing table of another shape is never changed.
     */
    public void setCreateSchema(boolean createSchema) {
        this.createSchema = createSchema;
    }

    public boolean isStoreJsonAsJsonb() {
        return storeJsonAsJsonb;
    }

    /**
     * mode=queue and topic: store String bodies that are JSON objects or arrays in the jsonb column, where SQL can query them.
     * They come back as the same JSON value in PostgreSQL's normal form (key order and spacing may differ). Set false
     * to store every String byte for byte. Binary bodies are always stored byte for byte.
     */
    public void setStoreJsonAsJsonb(boolean storeJsonAsJsonb) {
        this.storeJsonAsJsonb = storeJsonAsJsonb;
    }

    public HeaderFilterStrategy getHeaderFilterStrategy() {
        return headerFilterStrategy;
    }

    /**
     * mode=queue and topic: which headers travel with a message. By default every header whose value is a String, number,
     * boolean, character, enum, UUID, date or time is stored, except Camel's own (Camel*) other than CamelFileName,
     * CamelFileNameOnly and CamelFileLastModified (so a file keeps its name); the same filter applies to the headers
     * of rows inserted by other clients.
     */
    public void setHeaderFilterStrategy(HeaderFilterStrategy headerFilterStrategy) {
        this.headerFilterStrategy = headerFilterStrategy;
    }

    public boolean isBatch() {
        return batch;
    }

    /**
     * mode=queue and topic: a List or other Collection body is sent as one message per element, all in one transaction (with
     * the exchange's headers). The header CamelPgNotifyMessageId then holds the list of their ids.
     */
    public void setBatch(boolean batch) {
        this.batch = batch;
    }

    public PgNotifyTransactions getTransactions() {
        return transactions;
    }

    /**
     * How pgnotify takes part in the application's transactions on its DataSource: a producer called inside one inserts
     * on the transaction's connection (a rollback leaves no message; consumers are woken after the commit). Autowired:
     * the registry's only PgNotifyTransactions bean. Only with a dataSource: a pool of pgnotify's own (jdbcUrl) cannot
     * join the application's transactions.
     */
    public void setTransactions(PgNotifyTransactions transactions) {
        this.transactions = transactions;
    }

    public boolean isDropExpired() {
        return dropExpired;
    }

    /**
     * mode=queue: what becomes of a message whose expiry time (CamelPgNotifyExpiresAt, timeToLive) passed before it was
     * claimed: by default it moves to the dead-letter table with the reason; with true it is dropped (and counted).
     */
    public void setDropExpired(boolean dropExpired) {
        this.dropExpired = dropExpired;
    }

    public long getTimeToLive() {
        return timeToLive;
    }

    /**
     * mode=queue: how long a message sent by this producer may wait to be delivered; one not claimed in time is not
     * delivered (see dropExpired). 0 (the default): forever. The header CamelPgNotifyExpiresAt overrides it.
     */
    public void setTimeToLive(long timeToLive) {
        this.timeToLive = timeToLive;
    }

    public long getDeduplicationWindow() {
        return deduplicationWindow;
    }

    /**
     * mode=queue: how long a message's deduplication id (CamelPgNotifyDeduplicationId) stays taken after the message
     * completed (acknowledged or dead-lettered); while the message waits, is in flight or retries, it is taken anyway.
     * 0 (the default): free again as soon as the message is done.
     */
    public void setDeduplicationWindow(long deduplicationWindow) {
        this.deduplicationWindow = deduplicationWindow;
    }

    public boolean isTransacted() {
        return transacted;
    }

    /**
     * mode=queue: processes each message in a database transaction on the dataSource, the one the route's own JDBC work
     * on that DataSource joins (Spring's JdbcTemplate, camel-sql, a transacted() route), and acknowledges the message
     * in it: the route's database work and the acknowledgement commit together, so work done in that database happens
     * exactly once per message. If the exchange fails, or the transaction cannot commit, everything rolls back and the
     * message is delivered again after its retry delay; after maxAttempts it goes to the dead-letter table (each
     * delivery is counted before the transaction starts, so a rollback cannot undo the count). The transaction lasts as
     * long as the route: keep transacted routes short, as an open transaction holds back vacuum on the whole database.
     * Needs a dataSource and the transactions option (the Spring Boot starter provides both). Work outside that
     * database (an HTTP call, a file) is not undone by the rollback and may happen again: make it idempotent.
     */
    public void setTransacted(boolean transacted) {
        this.transacted = transacted;
    }

    public int getConcurrentConsumers() {
        return concurrentConsumers;
    }

    /**
     * mode=queue and topic: the number of threads that claim and process messages. They share the channel's messages
     * (in mode=topic: the group's) with each other and with every other consumer of the channel (of the group), in
     * this application or another; each message goes to one of them at a time. A claim of several messages made
     * while other threads wait idle is shared with them, so that a burst one thread claimed runs on the idle threads at
     * once rather than one message after the other (in mode=topic the unit shared is a batch of messages cut
     * together). With one thread,
     * messages are processed in order: insert order in mode=queue, commit order in mode=topic.
     */
    public void setConcurrentConsumers(int concurrentConsumers) {
        this.concurrentConsumers = concurrentConsumers;
    }

    public int getMaxMessagesPerPoll() {
        return maxMessagesPerPoll;
    }

    /**
     * mode=queue and topic: the most messages a consumer thread claims at once. Larger batches cost fewer round trips.
     * Claimed messages stay leased to the consumer until processed, by the thread that claimed them or, for a claim
     * shared with threads that waited idle (concurrentConsumers above 1), by those threads, each a part of it in order.
     */
    public void setMaxMessagesPerPoll(int maxMessagesPerPoll) {
        this.maxMessagesPerPoll = maxMessagesPerPoll;
    }

    public long getMaxBytesPerPoll() {
        return maxBytesPerPoll;
    }

    /**
     * mode=queue and topic: the most body bytes a consumer thread claims (mode=topic: loads) at once, which bounds its
     * memory. A claim always takes at least one message, whatever its size.
     */
    public void setMaxBytesPerPoll(long maxBytesPerPoll) {
        this.maxBytesPerPoll = maxBytesPerPoll;
    }

    public long getPollInterval() {
        return pollInterval;
    }

    /**
     * mode=queue and topic: how often an idle consumer looks for due messages although no wake-up came. A safety net: new
     * messages wake consumers at once, but a retry that falls due or a lease that expires elsewhere is found by polling.
     */
    public void setPollInterval(long pollInterval) {
        this.pollInterval = pollInterval;
    }

    public long getLeaseTime() {
        return leaseTime;
    }

    /**
     * mode=queue and topic: how long a claimed message stays reserved for its consumer. The consumer renews the lease while the
     * exchange runs, so long exchanges are never taken away; if the consumer's process dies, its messages are
     * delivered again, to another consumer, once the lease has run out (plus at most pollInterval).
     */
    public void setLeaseTime(long leaseTime) {
        this.leaseTime = leaseTime;
    }

    public int getMaxAttempts() {
        return maxAttempts;
    }

    /**
     * mode=queue and topic: how many times a message is delivered before it is moved to the dead-letter table with
     * its last error (in mode=topic, for that group only). A delivery that never completed (the consumer died) counts
     * as an attempt.
     */
    public void setMaxAttempts(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    public long getRetryDelay() {
        return retryDelay;
    }

    /**
     * mode=queue and topic: how long a message whose exchange failed waits before it is delivered again, after its first
     * failure. Each further failure multiplies the delay by retryMultiplier, up to maxRetryDelay. Messages behind a
     * failing one are not held up.
     */
    public void setRetryDelay(long retryDelay) {
        this.retryDelay = retryDelay;
    }

    public double getRetryMultiplier() {
        return retryMultiplier;
    }

    /**
     * mode=queue and topic: the factor by which the retry delay grows after each failure.
     */
    public void setRetryMultiplier(double retryMultiplier) {
        this.retryMultiplier = retryMultiplier;
    }

    public long getMaxRetryDelay() {
        return maxRetryDelay;
    }

    /**
     * mode=queue and topic: the longest delay between two deliveries of a failing message.
     */
    public void setMaxRetryDelay(long maxRetryDelay) {
        this.maxRetryDelay = maxRetryDelay;
    }

    public long getConnectionCheckInterval() {
        return connectionCheckInterval;
    }

    /**
     * How long the LISTEN connection that the component's consumers share may stay silent before it is checked; a check
     * that gets no answer within this (at least a second) replaces the connection. Bounds how long a silently broken
     * network goes unnoticed.
     */
    public void setConnectionCheckInterval(long connectionCheckInterval) {
        this.connectionCheckInterval = connectionCheckInterval;
    }

    public long getReconnectDelay() {
        return reconnectDelay;
    }

    /**
     * The delay before the first attempt to reconnect after the LISTEN connection was lost, and before a consumer's
     * first new claim after one failed. Each further failed attempt doubles it, up to maxReconnectDelay; a success
     * resets it.
     */
    public void setReconnectDelay(long reconnectDelay) {
        this.reconnectDelay = reconnectDelay;
    }

    public long getMaxReconnectDelay() {
        return maxReconnectDelay;
    }

    /**
     * The longest delay between two reconnect attempts of the LISTEN connection, or two claims that failed.
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
     * batches (tens to hundreds of milliseconds). Over TLS too: there the socket answers at once only between TLS
     * records, never inside one.
     */
    public void setLowLatencyListener(boolean lowLatencyListener) {
        this.lowLatencyListener = lowLatencyListener;
    }

    public boolean isListen() {
        return listen;
    }

    /**
     * mode=queue and topic: false for a connection through a pooler in transaction mode (PgBouncer
     * pool_mode=transaction, and poolers like it), where a LISTEN is lost with its transaction. Then nothing keeps
     * session state: no LISTEN; no session settings and no server-side prepared statements on pgnotify's own pool
     * (set prepareThreshold=0 on a DataSource of your own for PgBouncer before 1.21); producers send no wake-up.
     * Consumers poll instead: at once while there is work, then waiting twice as long after each poll that found
     * nothing, from 10 ms up to pollInterval. Producers of the same application still wake them directly, and delayed
     * messages are still claimed when they fall due. With listen=true, a connection whose LISTEN does not receive
     * notifications is refused at start, naming this option.
     */
    public void setListen(boolean listen) {
        this.listen = listen;
    }

    public String getBrowse() {
        return browse;
    }

    /**
     * mode=queue and topic: what Camel's browse tools (Hawtio's Browse tab, camel browse, the browse dev console) show of
     * this endpoint: waiting, the messages not processed yet, oldest first (mode=queue: every message still in the
     * queue, in flight and retrying ones included; mode=topic: what the endpoint's group has not processed; nothing
     * without a group); deadLetters, the channel's dead letters (mode=topic: the group's, or every group's), with
     * their attempts and last error. An endpoint with browse=deadLetters is for browsing only: no consumer or producer.
     * A queue or topic consumer's endpoint adds its deadLetters twin to the CamelContext, so that the tools list it.
     */
    public void setBrowse(String browse) {
        this.browse = browse;
    }

    public int getBrowseLimit() {
        return browseLimit;
    }

    /**
     * mode=queue and topic: the most messages a browse reads, whatever the tool asks for (at least 1): each browse is
     * one bounded read along an index, within a statement timeout of 3 seconds.
     */
    public void setBrowseLimit(int browseLimit) {
        this.browseLimit = browseLimit;
    }
}
