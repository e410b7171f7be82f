package dev.pgnotify.camel.quarkus;

import java.util.Map;

import jakarta.inject.Singleton;
import org.apache.camel.CamelContext;
import org.apache.camel.Consumer;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import dev.pgnotify.camel.PgNotifyEndpoint;
import dev.pgnotify.camel.admin.ConsumerHealthCheck;

/**
 * pgnotify's consumers in SmallRye Health ({@code /q/health} and {@code /q/health/ready}), named {@code camel-pgnotify}:
 * DOWN while one of them cannot work (it cannot claim, its LISTEN connection is lost, the database does not answer),
 * with each consumer's state by check id ({@code consumer:<routeId>}), its channel and, when DOWN, the reason. The
 * consumers' own health checks are asked directly, as pgnotify's dev console does, so this needs no Camel health
 * extension. Routes an operator stopped or suspended are left out; the component's healthCheckConsumerEnabled=false
 * leaves all out. Registered by the build step only when the application has quarkus-smallrye-health. Readiness only,
 * as Camel's consumer checks of Kafka: a consumer waiting for its database is not a reason to restart the application.
 */
@Readiness
@Singleton
public class PgNotifyReadinessCheck implements org.eclipse.microprofile.health.HealthCheck {

    static final String NAME = "camel-pgnotify";

    private final CamelContext camel;

    public PgNotifyReadinessCheck(CamelContext camel) {
        this.camel = camel;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response = HealthCheckResponse.named(NAME).up();
        for (Route route : camel.getRoutes()) {
            Consumer consumer = route.getConsumer();
            if (!(consumer != null && consumer.getEndpoint() instanceof PgNotifyEndpoint endpoint
                  && consumer instanceof ConsumerHealthCheck.Monitored monitored)
                || !checked(endpoint) || camel.getRouteController().getRouteStatus(route.getRouteId())
                                         != ServiceStatus.Started) {
                continue;
            }
            HealthCheck.Result result = new ConsumerHealthCheck(route.getRouteId(), endpoint.getChannel(), monitored)
                    .call();
            String id = result.getCheck().getId();
            response.withData(id, result.getState().name());
            response.withData(id + ".channel", endpoint.getChannel());
            result.getMessage().ifPresent(message -> response.withData(id + ".message", message));
            Map<String, Object> details = result.getDetails();
            Object lastError = details.get("lastError");
            if (lastError != null && result.getState() == HealthCheck.State.DOWN) {
                response.withData(id + ".lastError", lastError.toString());
            }
            if (result.getState() != HealthCheck.State.UP) {
                response.down();
            }
        }
        return response.build();
    }

    private static boolean checked(PgNotifyEndpoint endpoint) {
        return endpoint.getComponent().isHealthCheckConsumerEnabled();
    }
}
