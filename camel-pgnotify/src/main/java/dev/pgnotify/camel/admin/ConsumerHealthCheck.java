package dev.pgnotify.camel.admin;

import java.util.Map;

import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckResultBuilder;

/**
 * Readiness and liveness of a pgnotify consumer, registered in Camel's "consumers" health-check repository when
 * camel-health is present: UP while it can work, DOWN with the reason and details (channel, route, last error, ...)
 * while it cannot. What "can work" means is the consumer's to say.
 */
public final class ConsumerHealthCheck implements HealthCheck {

    /** A consumer that reports its own health. */
    public interface Monitored {

        /** Sets the result UP or DOWN, with a message and details. */
        void reportHealth(HealthCheckResultBuilder result);
    }

    private final String id;
    private final String routeId;
    private final String channel;
    private final Monitored consumer;
    private boolean enabled = true;

    public ConsumerHealthCheck(String routeId, String channel, Monitored consumer) {
        this.id = "consumer:" + routeId;
        this.routeId = routeId;
        this.channel = channel;
        this.consumer = consumer;
    }

    @Override
    public String getGroup() {
        return "camel";
    }

    @Override
    public String getId() {
        return id;
    }

    @Override
    public boolean isEnabled() {
        return enabled;
    }

    @Override
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    @Override
    public Result call(Map<String, Object> options) {
        HealthCheckResultBuilder result = HealthCheckResultBuilder.on(this).detail("channel", channel)
                .detail("routeId", routeId);
        consumer.reportHealth(result);
        return result.build();
    }
}
