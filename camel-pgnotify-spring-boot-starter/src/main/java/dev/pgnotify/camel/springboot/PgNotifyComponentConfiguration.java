package dev.pgnotify.camel.springboot;

import java.time.Duration;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.PgNotifyMode;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.spi.HeaderFilterStrategy;
import org.apache.camel.spring.boot.ComponentConfigurationPropertiesCommon;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The pgnotify component's options as Spring Boot properties, {@code camel.component.pgnotify.*}: one property per
 * component option, with the component's descriptions and defaults (PgNotifyComponentConfigurationTest keeps them in
 * step with the component's generated metadata). Endpoint URIs still override them per route.
 */
@ConfigurationProperties(prefix = "camel.component.pgnotify")
public class PgNotifyComponentConfiguration extends ComponentConfigurationPropertiesCommon {

    /**
     * The options shared by every endpoint of this component; an endpoint may override each of them. The option is a
     * dev.pgnotify.camel.PgNotifyConfiguration type; refer to a bean with #bean:name.
     */
    private PgNotifyConfiguration configuration;

    /**
     * The PostgreSQL database, as a DataSource bean (for example #bean:myDataSource). Autowired: when neither this nor
     * jdbcUrl is set, the registry's only DataSource is used (in Spring Boot, the application's). A jdbcUrl set at the
     * same level (component or endpoint) takes precedence. pgnotify borrows connections from it for short statements;
     * the consumer's LISTEN connection is opened separately, with the same URL and credentials when the DataSource is
     * HikariCP or pgjdbc's own. Producers join the caller's transactions on this DataSource (see transactions). The
     * option is a javax.sql.DataSource type; refer to a bean with #bean:name.
     */
    private DataSource dataSource;

    /**
     * The PostgreSQL database as a JDBC URL, for example jdbc:postgresql://localhost:5432/app. The component builds
     * one HikariCP pool per distinct URL and user, shared by all its endpoints; consumers LISTEN on a dedicated
     * connection outside that pool.
     */
    private String jdbcUrl;

    /**
     * mode=queue and topic: false for a connection through a pooler in transaction mode (PgBouncer
     * pool_mode=transaction, and poolers like it), where a LISTEN is lost with its transaction. Then nothing keeps
     * session state: no LISTEN; no session settings and no server-side prepared statements on pgnotify's own pool (set
     * prepareThreshold=0 on a DataSource of your own for PgBouncer before 1.21); producers send no wake-up. Consumers
     * poll instead: at once while there is work, then waiting twice as long after each poll that found nothing, from
     * 10 ms up to pollInterval. Producers of the same application still wake them directly, and delayed messages are
     * still claimed when they fall due. With listen=true, a connection whose LISTEN does not receive notifications is
     * refused at start, naming this option.
     */
    private Boolean listen = true;

    /**
     * mode=topic: the longest a message stays in the log, whether or not every group has processed it: the bound on
     * the storage a group that stopped for good (or is very slow) can hold on to. A group that had not processed a
     * message removed this way logs a warning naming it, and skips the message. Remove a group that is gone for good
     * from the _groups table instead of waiting for this. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration maxRetention = Duration.ofDays(7);

    /**
     * queue (the default) keeps every message in a table until a consumer has processed it: nothing is lost while
     * consumers are down, bodies may be of any size, and the consumers of a channel share its messages. topic is
     * durable broadcast: every consumer group (the group option) receives every message, the consumers of a group
     * share them, and a group that was away catches up on what it missed. notify is plain LISTEN/NOTIFY: every
     * consumer of a channel receives every notification, bodies are limited to 7999 bytes, and what is sent while a
     * consumer is disconnected is lost.
     */
    private PgNotifyMode mode = PgNotifyMode.QUEUE;

    /**
     * mode=topic: how long messages stay in the log after every group has processed them, for groups that start from
     * the earliest later on. With 0 (the default) a message is removed once every registered group has processed it.
     * Storage is reclaimed by emptying whole partitions, never by deleting rows, so a message may stay up to about
     * twice the rotateInterval longer. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration retention = Duration.ofMillis(0);

    /**
     * mode=queue: the queue table, optionally schema-qualified (schema.table); names are used exactly as written, case
     * included. Several channels share a table. Created on start unless createSchema=false.
     */
    private String table = "message_queue";

    /**
     * mode=topic: the log table, optionally schema-qualified (schema.table); names are used exactly as written, case
     * included, at most 48 bytes each. Several channels share a log. Its companions (partitions _0 to _3, _groups,
     * _cuts, _items, _dead, the _lag view, functions) are named after it. Created on start unless createSchema=false.
     */
    private String topicTable = "message_topic";

    /**
     * The longest pgnotify waits to open a connection (TCP connect and login) or to borrow one from the pool. A
     * database that cannot be reached fails the call after this bound instead of hanging it. A duration (30s, 500ms; a
     * bare number is milliseconds).
     */
    private Duration connectTimeout = Duration.ofSeconds(10);

    /**
     * mode=queue and topic: create the queue table (or the topic's log and its companions), dead-letter table, indexes
     * and wake-up trigger on start when they are missing (safe when several applications start at once). With false,
     * start-up only verifies them and fails naming what is missing. Either way an existing table of another shape is
     * never changed.
     */
    private Boolean createSchema = true;

    /**
     * mode=queue: the table that keeps messages whose attempts are exhausted, with their last error. Defaults to the
     * queue table's name followed by _dead, in the same schema.
     */
    private String deadLetterTable;

    /**
     * mode=queue and topic: which headers travel with a message. By default every header whose value is a String,
     * number, boolean, character, enum, UUID, date or time is stored, except Camel's own (Camel) other than
     * CamelFileName, CamelFileNameOnly and CamelFileLastModified (so a file keeps its name); the same filter applies
     * to the headers of rows inserted by other clients. The option is a org.apache.camel.spi.HeaderFilterStrategy
     * type; refer to a bean with #bean:name.
     */
    private HeaderFilterStrategy headerFilterStrategy;

    /**
     * mode=topic: how long new messages go to one partition of the log before the next takes over (once that one has
     * been emptied). Partitions are emptied whole when no group needs them: shorter intervals reclaim storage sooner,
     * longer ones make fewer, larger partitions. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration rotateInterval = Duration.ofMinutes(1);

    /**
     * The longest any statement pgnotify runs may take, from sending it to its last result: a claim, an
     * acknowledgement, a retry, a lease renewal, a dead-lettering, a producer's INSERT or NOTIFY, a schema check. A
     * statement still running then has its connection closed and fails with a PgNotifyTimeoutException; this is how a
     * half-open connection (a dead NAT entry, a firewall, a failed-over database) is noticed and replaced. Keep it
     * above the longest legitimate statement: inserting or claiming large bodies takes longer (a 50 MB body about a
     * second on a local server), so raise it if you send bodies of hundreds of megabytes over a slow network. The
     * component's own pooled sessions also run with this statement_timeout on the server. A duration (30s, 500ms; a
     * bare number is milliseconds).
     */
    private Duration statementTimeout = Duration.ofSeconds(20);

    /**
     * mode=queue and topic: store String bodies that are JSON objects or arrays in the jsonb column, where SQL can
     * query them. They come back as the same JSON value in PostgreSQL's normal form (key order and spacing may
     * differ). Set false to store every String byte for byte. Binary bodies are always stored byte for byte.
     */
    private Boolean storeJsonAsJsonb = true;

    /**
     * mode=queue and topic: what Camel's browse tools (Hawtio's Browse tab, camel browse, the browse dev console) show
     * of an endpoint: waiting, the messages not processed yet, oldest first; deadLetters, the channel's dead letters.
     * Usually set per endpoint (pgnotify:orders?browse=deadLetters), not here.
     */
    private String browse = "waiting";

    /**
     * mode=queue and topic: the most messages a browse reads, whatever the tool asks for (at least 1): each browse is
     * one bounded read along an index.
     */
    private Integer browseLimit = 100;

    /**
     * Allows for bridging the consumer to the Camel routing Error Handler, which mean any exceptions (if possible)
     * occurred while the Camel consumer is trying to pickup incoming messages, or the likes, will now be processed as
     * a message and handled by the routing Error Handler. Important: This is only possible if the 3rd party component
     * allows Camel to be alerted if an exception was thrown. Some components handle this internally only, and
     * therefore bridgeErrorHandler is not possible. In other situations we may improve the Camel component to hook
     * into the 3rd party component and make this possible for future releases. By default the consumer will use the
     * org.apache.camel.spi.ExceptionHandler to deal with exceptions, that will be logged at WARN or ERROR level and
     * ignored.
     */
    private Boolean bridgeErrorHandler = false;

    /**
     * mode=queue and topic: the number of threads that claim and process messages. They share the channel's messages
     * (in mode=topic: the group's) with each other and with every other consumer of the channel (of the group), in
     * this application or another; each message goes to one of them at a time. A claim of several messages made while
     * other threads wait idle is shared with them, so that a burst one thread claimed runs on the idle threads at once
     * rather than one message after the other (in mode=topic the unit shared is a batch of messages cut together). With
     * one thread, messages are processed in order: insert order in mode=queue, commit order in mode=topic.
     */
    private Integer concurrentConsumers = 1;

    /**
     * mode=queue: what becomes of a message whose expiry time (CamelPgNotifyExpiresAt, timeToLive) passed before it
     * was claimed: by default it moves to the dead-letter table with the reason; with true it is dropped (and
     * counted).
     */
    private Boolean dropExpired = false;

    /**
     * mode=topic, required for consumers: the consumer group. Every group receives every message of the channel; the
     * consumers of one group (threads, routes and applications alike) share its messages, each delivered to one of
     * them. A group is registered the first time one of its consumers starts, and keeps its place while none runs.
     * Letters, digits and _ . : $ / -, at most 63 bytes.
     */
    private String group;

    /**
     * mode=topic: where a group starts when its first consumer registers it: latest receives the messages published
     * from then on; earliest also those the log still holds (see retention). A registered group always resumes where
     * it stopped.
     */
    private String groupStart = "latest";

    /**
     * mode=queue and topic: how long a claimed message stays reserved for its consumer. The consumer renews the lease
     * while the exchange runs, so long exchanges are never taken away; if the consumer's process dies, its messages
     * are delivered again, to another consumer, once the lease has run out (plus at most pollInterval). A duration
     * (30s, 500ms; a bare number is milliseconds).
     */
    private Duration leaseTime = Duration.ofSeconds(30);

    /**
     * mode=queue and topic: how many times a message is delivered before it is moved to the dead-letter table with its
     * last error (in mode=topic, for that group only). A delivery that never completed (the consumer died) counts as
     * an attempt.
     */
    private Integer maxAttempts = 10;

    /**
     * mode=queue and topic: the most messages a consumer thread claims at once. Larger batches cost fewer round trips.
     * Claimed messages stay leased to the consumer until processed, by the thread that claimed them or, for a claim
     * shared with threads that waited idle (concurrentConsumers above 1), by those threads, each a part of it in order.
     */
    private Integer maxMessagesPerPoll = 100;

    /**
     * mode=queue and topic: the longest delay between two deliveries of a failing message. A duration (30s, 500ms; a
     * bare number is milliseconds).
     */
    private Duration maxRetryDelay = Duration.ofMinutes(5);

    /**
     * mode=queue and topic: how often an idle consumer looks for due messages although no wake-up came. A safety net:
     * new messages wake consumers at once, but a retry that falls due or a lease that expires elsewhere is found by
     * polling. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration pollInterval = Duration.ofSeconds(1);

    /**
     * mode=queue and topic: how long a message whose exchange failed waits before it is delivered again, after its
     * first failure. Each further failure multiplies the delay by retryMultiplier, up to maxRetryDelay. Messages
     * behind a failing one are not held up. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration retryDelay = Duration.ofSeconds(1);

    /**
     * mode=queue and topic: the factor by which the retry delay grows after each failure.
     */
    private Double retryMultiplier = 2.0;

    /**
     * mode=queue: processes each message in a database transaction on the dataSource, the one the route's own JDBC
     * work on that DataSource joins (Spring's JdbcTemplate, camel-sql, a transacted() route), and acknowledges the
     * message in it: the route's database work and the acknowledgement commit together, so work done in that database
     * happens exactly once per message. If the exchange fails, or the transaction cannot commit, everything rolls back
     * and the message is delivered again after its retry delay; after maxAttempts it goes to the dead-letter table
     * (each delivery is counted before the transaction starts, so a rollback cannot undo the count). The transaction
     * lasts as long as the route: keep transacted routes short, as an open transaction holds back vacuum on the whole
     * database. Needs a dataSource and the transactions option (the Spring Boot starter provides both). Work outside
     * that database (an HTTP call, a file) is not undone by the rollback and may happen again: make it idempotent.
     */
    private Boolean transacted = false;

    /**
     * How long the LISTEN connection that the component's consumers share may stay silent before it is checked; a
     * check that gets no answer within this (at least a second) replaces the connection. Bounds how long a silently
     * broken network goes unnoticed. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration connectionCheckInterval = Duration.ofSeconds(2);

    /**
     * Hands each notification to the route as soon as it arrives. pgjdbc otherwise keeps reading while further
     * notifications arrive within a millisecond of each other, so under a steady stream it returns them in late
     * batches (tens to hundreds of milliseconds). Not applied on SSL connections.
     */
    private Boolean lowLatencyListener = true;

    /**
     * mode=queue and topic: the most body bytes a consumer thread claims (mode=topic: loads) at once, which bounds its
     * memory. A claim always takes at least one message, whatever its size.
     */
    private Long maxBytesPerPoll = 16777216L;

    /**
     * The longest delay between two reconnect attempts of the LISTEN connection, or two claims that failed. A duration
     * (30s, 500ms; a bare number is milliseconds).
     */
    private Duration maxReconnectDelay = Duration.ofSeconds(30);

    /**
     * The delay before the first attempt to reconnect after the LISTEN connection was lost, and before a consumer's
     * first new claim after one failed. Each further failed attempt doubles it, up to maxReconnectDelay; a success
     * resets it. A duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration reconnectDelay = Duration.ofMillis(100);

    /**
     * mode=queue and topic: a List or other Collection body is sent as one message per element, all in one transaction
     * (with the exchange's headers). The header CamelPgNotifyMessageId then holds the list of their ids.
     */
    private Boolean batch = false;

    /**
     * mode=queue: how long a message's deduplication id (CamelPgNotifyDeduplicationId) stays taken after the message
     * completed (acknowledged or dead-lettered); while the message waits, is in flight or retries, it is taken anyway.
     * 0 (the default): free again as soon as the message is done. A duration (30s, 500ms; a bare number is
     * milliseconds).
     */
    private Duration deduplicationWindow = Duration.ofMillis(0);

    /**
     * Whether the producer should be started lazy (on the first message). By starting lazy you can use this to allow
     * CamelContext and routes to startup in situations where a producer may otherwise fail during starting and cause
     * the route to fail being started. By deferring this startup to be lazy then the startup failure can be handled
     * during routing messages via Camel's routing error handlers. Beware that when the first message is processed then
     * creating and starting the producer may take a little time and prolong the total processing time of the
     * processing.
     */
    private Boolean lazyStartProducer = false;

    /**
     * mode=queue: how long a message sent by this producer may wait to be delivered; one not claimed in time is not
     * delivered (see dropExpired). 0 (the default): forever. The header CamelPgNotifyExpiresAt overrides it. A
     * duration (30s, 500ms; a bare number is milliseconds).
     */
    private Duration timeToLive = Duration.ofMillis(0);

    /**
     * Whether autowiring is enabled. This is used for automatic autowiring options (the option must be marked as
     * autowired) by looking up in the registry to find if there is a single instance of matching type, which then gets
     * configured on the component. This can be used for automatic configuring JDBC data sources, JMS connection
     * factories, AWS Clients, etc.
     */
    private Boolean autowiredEnabled = true;

    /**
     * The largest number of connections of the pool the component builds from jdbcUrl. Not used with dataSource.
     */
    private Integer maxPoolSize = 10;

    /**
     * How pgnotify takes part in the application's transactions on its DataSource: a producer called inside one
     * inserts on the transaction's connection (a rollback leaves no message; consumers are woken after the commit).
     * Autowired: the registry's only PgNotifyTransactions bean. Only with a dataSource: a pool of pgnotify's own
     * (jdbcUrl) cannot join the application's transactions. The option is a
     * dev.pgnotify.camel.spi.PgNotifyTransactions type; refer to a bean with #bean:name.
     */
    private PgNotifyTransactions transactions;

    /**
     * Used for enabling or disabling all consumer based health checks from this component
     */
    private Boolean healthCheckConsumerEnabled = true;

    /**
     * Used for enabling or disabling all producer based health checks from this component. Notice: Camel has by
     * default disabled all producer based health-checks. You can turn on producer checks globally by setting
     * camel.health.producersEnabled=true.
     */
    private Boolean healthCheckProducerEnabled = true;

    /**
     * The database password, used with jdbcUrl. It is never logged nor put in an error message.
     */
    private String password;

    /**
     * The database user, used with jdbcUrl.
     */
    private String username;

    public PgNotifyConfiguration getConfiguration() {
        return configuration;
    }

    public void setConfiguration(PgNotifyConfiguration configuration) {
        this.configuration = configuration;
    }

    public DataSource getDataSource() {
        return dataSource;
    }

    public void setDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public String getJdbcUrl() {
        return jdbcUrl;
    }

    public void setJdbcUrl(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    public Boolean getListen() {
        return listen;
    }

    public void setListen(Boolean listen) {
        this.listen = listen;
    }

    public Duration getMaxRetention() {
        return maxRetention;
    }

    public void setMaxRetention(Duration maxRetention) {
        this.maxRetention = maxRetention;
    }

    public PgNotifyMode getMode() {
        return mode;
    }

    public void setMode(PgNotifyMode mode) {
        this.mode = mode;
    }

    public Duration getRetention() {
        return retention;
    }

    public void setRetention(Duration retention) {
        this.retention = retention;
    }

    public String getTable() {
        return table;
    }

    public void setTable(String table) {
        this.table = table;
    }

    public String getTopicTable() {
        return topicTable;
    }

    public void setTopicTable(String topicTable) {
        this.topicTable = topicTable;
    }

    public Duration getConnectTimeout() {
        return connectTimeout;
    }

    public void setConnectTimeout(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public Boolean getCreateSchema() {
        return createSchema;
    }

    public void setCreateSchema(Boolean createSchema) {
        this.createSchema = createSchema;
    }

    public String getDeadLetterTable() {
        return deadLetterTable;
    }

    public void setDeadLetterTable(String deadLetterTable) {
        this.deadLetterTable = deadLetterTable;
    }

    public HeaderFilterStrategy getHeaderFilterStrategy() {
        return headerFilterStrategy;
    }

    public void setHeaderFilterStrategy(HeaderFilterStrategy headerFilterStrategy) {
        this.headerFilterStrategy = headerFilterStrategy;
    }

    public Duration getRotateInterval() {
        return rotateInterval;
    }

    public void setRotateInterval(Duration rotateInterval) {
        this.rotateInterval = rotateInterval;
    }

    public Duration getStatementTimeout() {
        return statementTimeout;
    }

    public void setStatementTimeout(Duration statementTimeout) {
        this.statementTimeout = statementTimeout;
    }

    public String getBrowse() {
        return browse;
    }

    public void setBrowse(String browse) {
        this.browse = browse;
    }

    public Integer getBrowseLimit() {
        return browseLimit;
    }

    public void setBrowseLimit(Integer browseLimit) {
        this.browseLimit = browseLimit;
    }

    public Boolean getStoreJsonAsJsonb() {
        return storeJsonAsJsonb;
    }

    public void setStoreJsonAsJsonb(Boolean storeJsonAsJsonb) {
        this.storeJsonAsJsonb = storeJsonAsJsonb;
    }

    public Boolean getBridgeErrorHandler() {
        return bridgeErrorHandler;
    }

    public void setBridgeErrorHandler(Boolean bridgeErrorHandler) {
        this.bridgeErrorHandler = bridgeErrorHandler;
    }

    public Integer getConcurrentConsumers() {
        return concurrentConsumers;
    }

    public void setConcurrentConsumers(Integer concurrentConsumers) {
        this.concurrentConsumers = concurrentConsumers;
    }

    public Boolean getDropExpired() {
        return dropExpired;
    }

    public void setDropExpired(Boolean dropExpired) {
        this.dropExpired = dropExpired;
    }

    public String getGroup() {
        return group;
    }

    public void setGroup(String group) {
        this.group = group;
    }

    public String getGroupStart() {
        return groupStart;
    }

    public void setGroupStart(String groupStart) {
        this.groupStart = groupStart;
    }

    public Duration getLeaseTime() {
        return leaseTime;
    }

    public void setLeaseTime(Duration leaseTime) {
        this.leaseTime = leaseTime;
    }

    public Integer getMaxAttempts() {
        return maxAttempts;
    }

    public void setMaxAttempts(Integer maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    public Integer getMaxMessagesPerPoll() {
        return maxMessagesPerPoll;
    }

    public void setMaxMessagesPerPoll(Integer maxMessagesPerPoll) {
        this.maxMessagesPerPoll = maxMessagesPerPoll;
    }

    public Duration getMaxRetryDelay() {
        return maxRetryDelay;
    }

    public void setMaxRetryDelay(Duration maxRetryDelay) {
        this.maxRetryDelay = maxRetryDelay;
    }

    public Duration getPollInterval() {
        return pollInterval;
    }

    public void setPollInterval(Duration pollInterval) {
        this.pollInterval = pollInterval;
    }

    public Duration getRetryDelay() {
        return retryDelay;
    }

    public void setRetryDelay(Duration retryDelay) {
        this.retryDelay = retryDelay;
    }

    public Double getRetryMultiplier() {
        return retryMultiplier;
    }

    public void setRetryMultiplier(Double retryMultiplier) {
        this.retryMultiplier = retryMultiplier;
    }

    public Boolean getTransacted() {
        return transacted;
    }

    public void setTransacted(Boolean transacted) {
        this.transacted = transacted;
    }

    public Duration getConnectionCheckInterval() {
        return connectionCheckInterval;
    }

    public void setConnectionCheckInterval(Duration connectionCheckInterval) {
        this.connectionCheckInterval = connectionCheckInterval;
    }

    public Boolean getLowLatencyListener() {
        return lowLatencyListener;
    }

    public void setLowLatencyListener(Boolean lowLatencyListener) {
        this.lowLatencyListener = lowLatencyListener;
    }

    public Long getMaxBytesPerPoll() {
        return maxBytesPerPoll;
    }

    public void setMaxBytesPerPoll(Long maxBytesPerPoll) {
        this.maxBytesPerPoll = maxBytesPerPoll;
    }

    public Duration getMaxReconnectDelay() {
        return maxReconnectDelay;
    }

    public void setMaxReconnectDelay(Duration maxReconnectDelay) {
        this.maxReconnectDelay = maxReconnectDelay;
    }

    public Duration getReconnectDelay() {
        return reconnectDelay;
    }

    public void setReconnectDelay(Duration reconnectDelay) {
        this.reconnectDelay = reconnectDelay;
    }

    public Boolean getBatch() {
        return batch;
    }

    public void setBatch(Boolean batch) {
        this.batch = batch;
    }

    public Duration getDeduplicationWindow() {
        return deduplicationWindow;
    }

    public void setDeduplicationWindow(Duration deduplicationWindow) {
        this.deduplicationWindow = deduplicationWindow;
    }

    public Boolean getLazyStartProducer() {
        return lazyStartProducer;
    }

    public void setLazyStartProducer(Boolean lazyStartProducer) {
        this.lazyStartProducer = lazyStartProducer;
    }

    public Duration getTimeToLive() {
        return timeToLive;
    }

    public void setTimeToLive(Duration timeToLive) {
        this.timeToLive = timeToLive;
    }

    public Boolean getAutowiredEnabled() {
        return autowiredEnabled;
    }

    public void setAutowiredEnabled(Boolean autowiredEnabled) {
        this.autowiredEnabled = autowiredEnabled;
    }

    public Integer getMaxPoolSize() {
        return maxPoolSize;
    }

    public void setMaxPoolSize(Integer maxPoolSize) {
        this.maxPoolSize = maxPoolSize;
    }

    public PgNotifyTransactions getTransactions() {
        return transactions;
    }

    public void setTransactions(PgNotifyTransactions transactions) {
        this.transactions = transactions;
    }

    public Boolean getHealthCheckConsumerEnabled() {
        return healthCheckConsumerEnabled;
    }

    public void setHealthCheckConsumerEnabled(Boolean healthCheckConsumerEnabled) {
        this.healthCheckConsumerEnabled = healthCheckConsumerEnabled;
    }

    public Boolean getHealthCheckProducerEnabled() {
        return healthCheckProducerEnabled;
    }

    public void setHealthCheckProducerEnabled(Boolean healthCheckProducerEnabled) {
        this.healthCheckProducerEnabled = healthCheckProducerEnabled;
    }

    public String getPassword() {
        return password;
    }

    public void setPassword(String password) {
        this.password = password;
    }

    public String getUsername() {
        return username;
    }

    public void setUsername(String username) {
        this.username = username;
    }
}
