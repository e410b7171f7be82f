package dev.pgnotify.camel.topic;

import dev.pgnotify.camel.channel.ChannelEndpoint;
import dev.pgnotify.camel.connection.Database;
import dev.pgnotify.camel.produce.StoringProducer;

/**
 * mode=topic: appends each message to the topic's log (see {@link StoringProducer}); every group receives it.
 */
public class TopicProducer extends StoringProducer {

    public TopicProducer(ChannelEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    protected Target prepare(Database database) throws Exception {
        TopicResources topic = TopicResources.of(getEndpoint(), database, this);
        topic.requirePrivileges(database, this, TopicResources.Role.PRODUCER);
        return new Target(topic.codec(), topic.sql().publishOne, topic.sql().publishMany, topic.table().wakeUpChannel());
    }
}
