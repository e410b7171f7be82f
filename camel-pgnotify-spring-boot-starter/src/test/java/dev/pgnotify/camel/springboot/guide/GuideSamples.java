package dev.pgnotify.camel.springboot.guide;

import java.time.Duration;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConstants;
import dev.pgnotify.camel.PgNotifyEndpoint;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.processor.idempotent.jdbc.JdbcMessageIdRepository;

/**
 * The Java samples of the user guide (docs/) that are not a route of the examples, each verbatim, so
 * that they compile against the component as it is: GuideSamplesTest (in camel-pgnotify-examples) fails for a sample
 * found in no source file of the project. This module compiles them because its test classpath has what they name
 * (Spring's transactions, camel-sql, Micrometer). The README's own routes run in GuideRoutesIT (camel-pgnotify-examples).
 */
final class GuideSamples {

    private GuideSamples() {
    }

    /** docs/examples.md: the Kafka relay, as the guide shows it (KafkaRelayRoutes takes its settings from properties). */
    static final class KafkaRelay extends RouteBuilder {
        @Override
        public void configure() {
            errorHandler(defaultErrorHandler().maximumRedeliveries(1000)          // a failed send is retried here, in place
                    .redeliveryDelay(200).useExponentialBackOff().maximumRedeliveryDelay(5000));

            from("pgnotify:kafka-out?concurrentConsumers=1").routeId("kafka-relay")
                .setHeader("kafka.KEY", simple("${header.key} ?: ${header.CamelPgNotifyMessageId}"))
                .setHeader("pgnotify.message.id", simple("${header.CamelPgNotifyMessageId}", String.class))
                .to("kafka:pgnotify-events?brokers=localhost:9092&requestRequiredAcks=all&enableIdempotence=true"
                    + "&maxInFlightRequest=5&deliveryTimeoutMs=30000&requestTimeoutMs=10000&lingerMs=0&synchronous=true");
        }
    }

    /** docs/modes.md: publishing to a topic and two groups. */
    static final class TopicGroups extends RouteBuilder {
        @Override
        public void configure() {
            from("direct:orderPlaced").to("pgnotify:order-events?mode=topic");                 // publish
            from("pgnotify:order-events?mode=topic&group=billing&concurrentConsumers=4")         // billing's 4 threads share
                .to("http://billing.example/api/events");
            from("pgnotify:order-events?mode=topic&group=audit&groupStart=earliest")             // audit gets everything too
                .to("file:audit");
        }
    }

    /** docs/queue-semantics.md: per-key order. */
    static final class KeyedOrder extends RouteBuilder {
        @Override
        public void configure() {
            from("direct:accountEvents").setHeader(PgNotifyConstants.KEY, simple("${header.accountId}")).to("pgnotify:accounts");
            from("pgnotify:accounts?concurrentConsumers=8").to("bean:ledger");   // one account at a time, eight accounts at once
        }
    }

    /** docs/queue-semantics.md: a delayed message. */
    static final class Delayed extends RouteBuilder {
        @Override
        public void configure() {
            from("direct:reminders").setHeader(PgNotifyConstants.DELAY, constant(Duration.ofMinutes(30))).to("pgnotify:reminders");
        }
    }

    /** docs/operating.md: dead letters delivered again over HTTP. */
    static final class RequeueDeadLetters extends RouteBuilder {
        @Override
        public void configure() {
            // deliver the channel's dead letters again (or only the ids in CamelPgNotifyMessageId); the body becomes the count
            from("platform-http:/admin/orders/dead-letters/requeue?httpMethodRestrict=POST")
                .setHeader(PgNotifyConstants.OPERATION, constant(PgNotifyConstants.OPERATION_REQUEUE_DEAD_LETTERS))
                .to("pgnotify:orders");
        }
    }

    /** docs/operating.md: a gauge of the waiting messages. */
    static void waitingGauge(CamelContext camelContext, MeterRegistry registry) {
        PgNotifyEndpoint orders = camelContext.getEndpoint("pgnotify:orders", PgNotifyEndpoint.class);
        Gauge.builder("orders.waiting", orders, e -> e.getWaitingMessages() == null ? Double.NaN : e.getWaitingMessages())
             .register(registry);
    }

    /** docs/spring-boot.md: publishing inside the route's transaction. */
    static final class PublishInTransaction extends RouteBuilder {
        @Override
        public void configure() {
            from("direct:placeOrder")
                .transacted()
                .to("sql:INSERT INTO orders (id, item) VALUES (:#${header.orderId}, :#${body})")
                .to("pgnotify:order-events")          // on the same connection, in the same transaction
                .to("bean:payments?method=charge");    // throws: the order and its event roll back together
        }
    }

    /** docs/spring-boot.md: an idempotent consumer whose entry commits with the work. */
    static final class IdempotentPayments extends RouteBuilder {
        private final DataSource dataSource;

        IdempotentPayments(DataSource dataSource) {
            this.dataSource = dataSource;
        }

        @Override
        public void configure() {
            from("pgnotify:payments")
                .to("direct:recordPayment")
                .to("http://ledger.example/api/payments");      // fails: the message comes again

            from("direct:recordPayment")
                .transacted()
                .idempotentConsumer(simple("${id}"), new JdbcMessageIdRepository(dataSource, "payments"))
                    .removeOnFailure(false)                     // the entry commits or rolls back with the work itself
                .to("sql:INSERT INTO payments (message_id, amount) VALUES (:#${id}, :#${body})");
        }
    }
}
