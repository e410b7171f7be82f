package dev.pgnotify.camel.channel;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.admin.ConsumerHealthCheck;
import dev.pgnotify.camel.admin.EndpointAdmin;
import dev.pgnotify.camel.connection.EndpointConnections;
import dev.pgnotify.camel.listen.Listeners;
import dev.pgnotify.camel.listen.LocalWakeUps;
import dev.pgnotify.camel.listen.WakeUpSenders;
import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultConsumer;

/**
 * What the producers, consumers and operations of one channel need from their endpoint, and all they see of it: the
 * endpoint ({@code PgNotifyEndpoint}) implements it and constructs them, and nothing below it imports the endpoint back.
 */
public interface ChannelEndpoint extends Endpoint {

    /** The channel, as validated. */
    String getChannel();

    /** The endpoint's options. */
    PgNotifyConfiguration getConfiguration();

    /** Where its pooled connections come from, bounded. */
    EndpointConnections getConnections();

    /** The component's shared LISTEN connections. */
    Listeners listeners();

    /** How the component's producers wake its own consumers directly. */
    LocalWakeUps localWakeUps();

    /** How the component's producers send their wake-ups after commit. */
    WakeUpSenders wakeUpSenders();

    /**
     * The application's DataSource when producers join its transactions and transacted consumers run in them (option
     * transactions set), else null.
     */
    DataSource joinableDataSource();

    /** Operators' view of the channel: its figures, its dead letters. */
    EndpointAdmin getAdmin();

    /** What the channel's mode resolved on its database once (its tables, statements, codec), shared by all its users. */
    ChannelResources resources();

    /** Gives a consumer the health check Camel's consumers repository reports (when camel-health is present). */
    void installHealthCheck(DefaultConsumer consumer, ConsumerHealthCheck.Monitored monitored);
}
