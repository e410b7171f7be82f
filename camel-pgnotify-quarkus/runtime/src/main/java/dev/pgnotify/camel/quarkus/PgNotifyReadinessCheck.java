package dev.pgnotify.camel.quarkus;

import java.util.Map;
import java.util.function.Predicate;

import jakarta.inject.Singleton;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import dev.pgnotify.camel.admin.ConsumerHealthCheck;

/**
 * pgnotify's consumers in SmallRye Health ({@code /q/health} and {@code /q/health/ready}): DOWN while one of them
 * cannot work, with each consumer's state and, when DOWN, its message, by check id ({@code consumer:<routeId>}).
 * Registered by the build step only when the application has quarkus-smallrye-health. Readiness only, as Camel's
 * consumer checks of Kafka: a consumer waiting for its database is not a reason to restart the application.
 */
@Readiness
@Singleton
public class PgNotifyReadinessCheck implements org.eclipse.microprofile.health.HealthCheck {

    private final CamelContext camel;

    public PgNotifyReadinessCheck(CamelContext camel) {
        this.camel = camel;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named("camel-pgnotify").up();
        // Camel's filter excludes what it accepts: everything but pgnotify's consumers' readiness
        Predicate<HealthCheck> excluded = check -> !(check instanceof ConsumerHealthCheck) || !check.isReadiness();
        for (HealthCheck.Result result : HealthCheckHelper.invoke(camel, excluded)) {
            String id = result.getCheck().getId();
            response.withData(id, result.getState().name());
            result.getMessage().ifPresent(message -> response.withData(id + ".message", message));
            Map<String, Object> details = result.getDetails();
            Object channel = details.get("channel");
            if (channel != null) {
                response.withData(id + ".channel", channel.toString());
            }
            if (result.getState() == HealthCheck.State.DOWN) {
                response.down();
            }
        }
        return response.build();
    }
}
