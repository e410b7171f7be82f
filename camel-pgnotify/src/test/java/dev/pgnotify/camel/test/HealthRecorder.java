package dev.pgnotify.camel.test;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;

/**
 * Samples the health of one consumer every 20 ms while open, so that a test can tell whether (and when) it was DOWN
 * during a fault and UP again after it.
 */
public final class HealthRecorder implements AutoCloseable {

    /** One sample: when (System.nanoTime()), the state and the message. */
    public record Sample(long nanos, HealthCheck.State state, String message) {
    }

    private final CamelContext camel;
    private final String checkId;
    private final List<Sample> samples = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService sampler;

    public HealthRecorder(CamelContext camel, String routeId) {
        this.camel = camel;
        this.checkId = "consumer:" + routeId;
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "health-recorder-" + routeId);
            thread.setDaemon(true);
            return thread;
        });
        sampler.scheduleWithFixedDelay(this::sample, 0, 20, TimeUnit.MILLISECONDS);
    }

    /**
     * The consumer's health now, from its registered check by id. (Not from the list of HealthCheckHelper.invoke(camel):
     * at Camel's default exposure level that list holds only the DOWN checks, or, when all are UP, only the first one,
     * so a consumer's UP result is missing from it whenever another check comes first, as after a failover.)
     */
    public static Optional<HealthCheck.Result> check(CamelContext camel, String routeId) {
        return HealthCheckHelper.invoke(camel, "consumer:" + routeId, java.util.Map.of());
    }

    private void sample() {
        check(camel, checkId.substring("consumer:".length())).ifPresent(result -> samples
                .add(new Sample(System.nanoTime(), result.getState(), result.getMessage().orElse(""))));
    }

    public List<Sample> samples() {
        return samples;
    }

    /** The first DOWN sample taken at or after this time, if any. */
    public Optional<Sample> firstDownAfter(long nanos) {
        return samples.stream().filter(s -> s.nanos() >= nanos && s.state() == HealthCheck.State.DOWN).findFirst();
    }

    /** The latest sample. */
    public Optional<Sample> latest() {
        return samples.isEmpty() ? Optional.empty() : Optional.of(samples.get(samples.size() - 1));
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
