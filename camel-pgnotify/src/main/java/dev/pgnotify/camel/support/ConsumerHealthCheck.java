package dev.pgnotify.camel.support;

import java.util.Map;

import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckResultBuilder;

/**
 * Readiness and liveness of a pgnotify consumer: DOWN while its LISTEN connection is lost (it keeps reconnecting),
 * with the reason. Registered in Camel's "consumers" health-check repository when camel-health is present.
 */
public final class ConsumerHealthCheck implements HealthCheck {

    private final String id;
    private final String channel;
    private final NotificationListener listener;
    private boolean enabled = true;

    public ConsumerHealthCheck(String routeId, String channel, NotificationListener listener) {
        this.id = "consumer:" + routeId;
        this.channel = channel;
        this.listener = listener;
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
        HealthCheckResultBuilder result = HealthCheckResultBuilder.on(this).detail("channel", channel);
        if (listener.isListening()) {
            return result.up().build();
        }
        Exception failure = listener.getLastFailure();
        result.down().message("pgnotify:" + channel + " has lost its LISTEN connection and is reconnecting");
        if (failure != null) {
            result.error(failure);
        }
        return result.build();
    }
}
