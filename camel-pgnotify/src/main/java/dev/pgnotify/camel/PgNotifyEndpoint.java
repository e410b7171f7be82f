package dev.pgnotify.camel;

import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

import javax.sql.DataSource;

import dev.pgnotify.camel.admin.ConsumerHealthCheck;
import dev.pgnotify.camel.admin.EndpointAdmin;
import dev.pgnotify.camel.browse.EndpointBrowser;
import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.channel.ChannelResources;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.connection.EndpointConnections;
import dev.pgnotify.camel.listen.Listeners;
import dev.pgnotify.camel.listen.LocalWakeUps;
import dev.pgnotify.camel.listen.WakeUpSenders;
import dev.pgnotify.camel.notify.NotifyConsumer;
import dev.pgnotify.camel.notify.NotifyProducer;
import dev.pgnotify.camel.queue.QueueConsumer;
import dev.pgnotify.camel.queue.QueueProducer;
import dev.pgnotify.camel.queue.QueueResources;
import dev.pgnotify.camel.queue.QueueTable;
import dev.pgnotify.camel.topic.TopicConsumer;
import dev.pgnotify.camel.topic.TopicProducer;
import dev.pgnotify.camel.topic.TopicResources;
import dev.pgnotify.camel.topic.TopicTable;
import org.apache.camel.Category;
import org.apache.camel.Consumer;
import org.apache.camel.Exchange;
import org.apache.camel.MultipleConsumersSupport;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.api.management.ManagedAttribute;
import org.apache.camel.api.management.ManagedOperation;
import org.apache.camel.api.management.ManagedResource;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.health.HealthCheckRepository;
import org.apache.camel.spi.BrowsableEndpoint;
import org.apache.camel.spi.EndpointServiceLocation;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriPath;
import org.apache.camel.support.DefaultConsumer;
import org.apache.camel.support.DefaultEndpoint;
import org.apache.camel.util.URISupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Send and receive messages through PostgreSQL: a durable queue table woken by LISTEN/NOTIFY, a durable topic
 * whose every consumer group receives every message, or plain LISTEN/NOTIFY.
 * <p>
 * Longer than 400 lines: it is the one class Camel, JMX and the browse tools see of a channel, so it carries their
 * interfaces; the work behind each lives elsewhere (EndpointAdmin, EndpointBrowser) and this class only delegates.
 */
@UriEndpoint(firstVersion = "0.1.0", scheme = "pgnotify", title = "PostgreSQL Notify",
             syntax = "pgnotify:channel", category = { Category.DATABASE, Category.MESSAGING },
             headersClass = PgNotifyConstants.class)
@ManagedResource(description = "A pgnotify endpoint: its channel's messages and dead letters")
public class PgNotifyEndpoint extends DefaultEndpoint
        implements ChannelEndpoint, MultipleConsumersSupport, EndpointServiceLocation, BrowsableEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(PgNotifyEndpoint.class);

    @UriPath(description = "The channel: the LISTEN/NOTIFY channel in mode=notify, the queue's channel in mode=queue,"
                           + " the topic's channel in mode=topic."
                           + " At most 63 bytes of letters, digits and _ . : $ / -, used exactly as written"
                           + " (case included).")
    @Metadata(required = true)
    private final String channel;

    @UriParam
    private final PgNotifyConfiguration configuration;

    private final EndpointConnections connections;
    private final EndpointAdmin admin;
    private final EndpointBrowser browser;
    private final ChannelResources resources = new ChannelResources();

    public PgNotifyEndpoint(String uri, PgNotifyComponent component, String channel, PgNotifyConfiguration configuration) {
        super(uri, component);
        this.channel = PgIdentifiers.requireValidChannel(channel);
        this.configuration = configuration;
        this.connections = new EndpointConnections(component.getSharedPools(), component.getWatchdog(), configuration,
                "pgnotify:" + channel, this::noDatabaseHint);
        this.admin = new EndpointAdmin(this.channel, configuration, connections,
                (database, bound) -> configuration.getMode() == PgNotifyMode.QUEUE
                        ? queue(database, this, bound).admin(this.channel)
                        : topic(database, this, bound).admin(this.channel, configuration.getGroup()));
        this.browser = new EndpointBrowser(this, this.channel, configuration, connections,
                (database, bound) -> configuration.getMode() == PgNotifyMode.QUEUE
                        ? queue(database, this, bound).browse(this.channel)
                        : topic(database, this, bound).browse(this.channel, configuration.getGroup()));
    }

    @Override
    public Listeners listeners() {
        return getComponent().getListeners();
    }

    @Override
    public LocalWakeUps localWakeUps() {
        return getComponent().getLocalWakeUps();
    }

    @Override
    public WakeUpSenders wakeUpSenders() {
        return getComponent().getWakeUps();
    }

    @Override
    public ChannelResources resources() {
        return resources;
    }

    @Override
    public PgNotifyComponent getComponent() {
        return (PgNotifyComponent) super.getComponent();
    }

    @ManagedAttribute(description = "The channel")
    @Override
    public String getChannel() {
        return channel;
    }

    @ManagedAttribute(description = "The mode: queue, topic or notify")
    public String getMode() {
        return configuration.getMode().name().toLowerCase(Locale.ROOT);
    }

    /** Operators' view of the channel: its figures, its dead letters. */
    @Override
    public EndpointAdmin getAdmin() {
        return admin;
    }

    /**
     * The channel's figures, measured in the database at most once a second (mode=queue: one; mode=topic: one per
     * group, the endpoint's group only when set).
     */
    public List<PgNotifyStatistics> statistics() throws SQLException {
        return admin.statistics();
    }

    @ManagedAttribute(description = "Messages waiting: due and not claimed (mode=topic: not processed yet by the"
                                    + " groups, summed); empty when it cannot be measured")
    public Long getWaitingMessages() {
        return sum(PgNotifyStatistics::waiting);
    }

    @ManagedAttribute(description = "Messages claimed by a consumer whose lease runs")
    public Long getInFlightMessages() {
        return sum(PgNotifyStatistics::inFlight);
    }

    @ManagedAttribute(description = "Messages that failed and wait for their next delivery")
    public Long getRetryingMessages() {
        return sum(PgNotifyStatistics::retrying);
    }

    @ManagedAttribute(description = "Messages sent with a delay that are not due yet (mode=queue)")
    public Long getDelayedMessages() {
        return sum(PgNotifyStatistics::delayed);
    }

    @ManagedAttribute(description = "Messages in the dead-letter table")
    public Long getDeadLetters() {
        return sum(PgNotifyStatistics::deadLetters);
    }

    @ManagedAttribute(description = "The age in milliseconds of the oldest message not processed yet (the largest of"
                                    + " the groups'); empty when there is none")
    public Long getOldestMessageAgeMillis() {
        List<PgNotifyStatistics> statistics = measuredOrNull();
        return statistics == null ? null : statistics.stream().map(PgNotifyStatistics::oldestAgeMillis)
                .filter(Objects::nonNull).max(Long::compare).orElse(null);
    }

    @ManagedOperation(description = "Delivers every dead letter of the channel (in mode=topic, of the endpoint's"
                                    + " group, or of every group) again; returns how many")
    public int requeueDeadLetters() throws SQLException {
        return admin.requeueDeadLetters(null, null);
    }

    @ManagedOperation(description = "Delivers the dead letters of a message id again; returns how many (several when"
                                    + " the id was drawn again; in mode=topic one a group at most, and only while the"
                                    + " log holds that dead letter's own message)")
    public int requeueDeadLetter(long id) throws SQLException {
        return admin.requeueDeadLetters(null, List.of(id));
    }

    @ManagedOperation(description = "Deletes every dead letter of the channel (of the group); returns how many")
    public int purgeDeadLetters() throws SQLException {
        return admin.purgeDeadLetters(null, null);
    }

    @ManagedOperation(description = "Deletes the dead letters of a message id (every one with that id, when it was"
                                    + " drawn again); returns how many")
    public int purgeDeadLetter(long id) throws SQLException {
        return admin.purgeDeadLetters(null, List.of(id));
    }

    /** The waiting messages (browse=deadLetters: the dead letters), oldest first, at most browseLimit of them. */
    @Override
    public List<Exchange> getExchanges() {
        return browser.browse(configuration.getBrowseLimit(), null);
    }

    @Override
    public List<Exchange> getExchanges(int limit, Predicate filter) {
        @SuppressWarnings("unchecked")
        Predicate<Exchange> accepted = filter;
        return browser.browse(limit, accepted);
    }

    /** From one bounded read: the size says how many messages there are up to browseLimit, not beyond. */
    @Override
    public BrowseStatus getBrowseStatus(int limit) {
        return browser.status(limit);
    }

    @Override
    public int getBrowseLimit() {
        return configuration.getBrowseLimit();
    }

    @Override
    public void setBrowseLimit(int browseLimit) {
        configuration.setBrowseLimit(browseLimit);
    }

    private Long sum(ToLongFunction<PgNotifyStatistics> figure) {
        List<PgNotifyStatistics> statistics = measuredOrNull();
        return statistics == null ? null : statistics.stream().mapToLong(figure).sum();
    }

    private List<PgNotifyStatistics> measuredOrNull() {
        if (configuration.getMode() == PgNotifyMode.NOTIFY) {
            return null;
        }
        try {
            return admin.statistics();
        } catch (SQLException | RuntimeException e) {
            LOG.debug("Could not measure pgnotify:{}: {}", channel, e.getMessage());
            return null;
        }
    }

    @Override
    public PgNotifyConfiguration getConfiguration() {
        return configuration;
    }

    /** Where this endpoint's producers and consumers get their connections. */
    @Override
    public EndpointConnections getConnections() {
        return connections;
    }

    @Override
    public Producer createProducer() throws Exception {
        requireNotBrowsingOnly("producer");
        return switch (configuration.getMode()) {
            case NOTIFY -> new NotifyProducer(this);
            case TOPIC -> new TopicProducer(this);
            case QUEUE -> new QueueProducer(this);
        };
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        requireNotBrowsingOnly("consumer");
        DefaultConsumer consumer = switch (configuration.getMode()) {
            case NOTIFY -> new NotifyConsumer(this, processor);
            case TOPIC -> {
                try {
                    PgIdentifiers.requireValidGroup(configuration.getGroup());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("pgnotify:" + channel + ": " + e.getMessage(), e);
                }
                yield new TopicConsumer(this, processor);
            }
            case QUEUE -> new QueueConsumer(this, processor);
        };
        configureConsumer(consumer);
        browser.addDeadLettersEndpoint(getCamelContext(), getEndpointUri());
        return consumer;
    }

    private void requireNotBrowsingOnly(String what) {
        if (browser.deadLetters()) {
            throw new IllegalArgumentException("pgnotify:" + channel + " has browse=deadLetters: it shows the dead"
                                               + " letters to Camel's browse tools and has no " + what);
        }
    }

    /**
     * The DataSource whose transactions pgnotify joins: the one configured (not a pool of its own built from jdbcUrl),
     * when the transactions option is set; null otherwise.
     */
    @Override
    public DataSource joinableDataSource() {
        return configuration.getTransactions() != null ? configuration.effectiveDataSource() : null;
    }

    /**
     * Why there is no database, for the error at start: names the DataSource beans when there are several (autowiring
     * then picks none).
     */
    String noDatabaseHint() {
        java.util.Set<String> names = getCamelContext().getRegistry().findByTypeWithName(DataSource.class).keySet();
        if (names.size() > 1) {
            return ". The registry holds " + names.size() + " DataSources (" + String.join(", ", new java.util.TreeSet<>(
                    names)) + "), so none was autowired: choose one with dataSource=#bean:name"
                   + " (camel.component.pgnotify.data-source=#bean:name)";
        }
        return "";
    }

    /** Rejects option values that cannot work before anything connects. */
    @Override
    protected void doInit() throws Exception {
        super.doInit();
        if (configuration.getMode() == PgNotifyMode.TOPIC) {
            TopicTable.of(configuration.getTopicTable());
            if (!"latest".equals(configuration.getGroupStart()) && !"earliest".equals(configuration.getGroupStart())) {
                throw new IllegalArgumentException("pgnotify:" + channel + ": groupStart must be latest or earliest, not "
                                                   + configuration.getGroupStart());
            }
            requireAtLeast("retention", configuration.getRetention(), 0);
            requireAtLeast("maxRetention", configuration.getMaxRetention(), Math.max(1000, configuration.getRetention()));
            requireAtLeast("rotateInterval", configuration.getRotateInterval(), 100);
        }
        if (configuration.isTransacted() && configuration.getMode() != PgNotifyMode.QUEUE) {
            throw new IllegalArgumentException("pgnotify:" + channel + ": transacted=true is supported with mode=queue"
                                               + " only, not mode=" + configuration.getMode());
        }
        if (!configuration.isListen() && configuration.getMode() == PgNotifyMode.NOTIFY) {
            throw new IllegalArgumentException("pgnotify:" + channel + ": mode=notify is LISTEN/NOTIFY itself and"
                                               + " cannot work without LISTEN; listen=false is for mode=queue and"
                                               + " mode=topic (behind a pooler in transaction mode)");
        }
        if (configuration.getMode() == PgNotifyMode.QUEUE) {
            QueueTable.of(configuration.getTable(), configuration.getDeadLetterTable());
        }
        if (configuration.getMode() != PgNotifyMode.NOTIFY) {
            requireAtLeast("concurrentConsumers", configuration.getConcurrentConsumers(), 1);
            requireAtLeast("maxMessagesPerPoll", configuration.getMaxMessagesPerPoll(), 1);
            requireAtLeast("maxBytesPerPoll", configuration.getMaxBytesPerPoll(), 1);
            requireAtLeast("maxAttempts", configuration.getMaxAttempts(), 1);
            requireAtLeast("pollInterval", configuration.getPollInterval(), 1);
            requireAtLeast("leaseTime", configuration.getLeaseTime(), 100);
            requireAtLeast("retryDelay", configuration.getRetryDelay(), 0);
            requireAtLeast("maxRetryDelay", configuration.getMaxRetryDelay(), 0);
            if (!(configuration.getRetryMultiplier() >= 1.0)) {
                throw new IllegalArgumentException(
                        "pgnotify:" + channel + ": retryMultiplier must be 1 or more, not "
                                                   + configuration.getRetryMultiplier());
            }
        }
        browser.validate();
        requireAtLeast("maxPoolSize", configuration.getMaxPoolSize(), 1);
        requireAtLeast("connectionCheckInterval", configuration.getConnectionCheckInterval(), 1);
        requireAtLeast("reconnectDelay", configuration.getReconnectDelay(), 1);
        requireAtLeast("connectTimeout", configuration.getConnectTimeout(), 250);
        requireAtLeast("statementTimeout", configuration.getStatementTimeout(), 100);
    }

    private void requireAtLeast(String option, long value, long minimum) {
        if (value < minimum) {
            throw new IllegalArgumentException(
                    "pgnotify:" + channel + ": " + option + " must be at least " + minimum + ", not " + value);
        }
    }

    /**
     * Gives a consumer the health check that Camel's consumers repository reports (when camel-health is present).
     * Switched off with the component's healthCheckConsumerEnabled.
     */
    @Override
    public void installHealthCheck(DefaultConsumer consumer, ConsumerHealthCheck.Monitored monitored) {
        if (HealthCheckHelper.getHealthCheckRepository(getCamelContext(), "consumers", HealthCheckRepository.class)
                == null) {
            return;
        }
        String routeId = consumer.getRouteId() != null ? consumer.getRouteId() : channel;
        ConsumerHealthCheck check = new ConsumerHealthCheck(routeId, channel, monitored);
        check.setEnabled(getComponent().isHealthCheckConsumerEnabled());
        consumer.setHealthCheck(check);
    }

    /**
     * mode=queue: the queue table, created or verified (once per endpoint) on this database, with its statements and
     * codec.
     */
    public QueueResources queue(Database database, Object owner) throws SQLException {
        return QueueResources.of(this, database, owner);
    }

    /** As {@link #queue(Database, Object)}, within a bound of the caller's. */
    public QueueResources queue(Database database, Object owner, long timeoutMillis) throws SQLException {
        return QueueResources.of(this, database, owner, timeoutMillis);
    }

    /**
     * mode=topic: the topic's log and companions, created or verified (once per endpoint) on this database, with its
     * statements and codec.
     */
    public TopicResources topic(Database database, Object owner) throws SQLException {
        return TopicResources.of(this, database, owner);
    }

    /** As {@link #topic(Database, Object)}, within a bound of the caller's. */
    public TopicResources topic(Database database, Object owner, long timeoutMillis) throws SQLException {
        return TopicResources.of(this, database, owner, timeoutMillis);
    }

    /**
     * Several routes may consume the same endpoint: in mode=notify each receives every notification, in mode=queue
     * they share the messages, in mode=topic they share their group's messages.
     */
    @Override
    public boolean isMultipleConsumersSupported() {
        return true;
    }

    @Override
    public String getServiceUrl() {
        return configuration.getJdbcUrl() != null ? URISupport.sanitizeUri(configuration.getJdbcUrl()) : null;
    }

    @Override
    public String getServiceProtocol() {
        return "postgresql";
    }

    @Override
    public Map<String, String> getServiceMetadata() {
        return configuration.getUsername() != null ? Map.of("username", configuration.getUsername()) : null;
    }
}
