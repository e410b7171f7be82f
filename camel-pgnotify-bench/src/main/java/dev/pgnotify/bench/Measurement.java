package dev.pgnotify.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * A workload measured over several runs: medians are what the report compares.
 */
final class Measurement {

    final String group;
    final String name;
    final String description;
    final List<Run> runs = new ArrayList<>();

    Measurement(String group, String name, String description) {
        this.group = group;
        this.name = name;
        this.description = description;
    }

    double medianThroughput() {
        return median(Run::throughput);
    }

    Run.Latencies medianLatencies() {
        if (runs.stream().anyMatch(r -> r.latencies() == null)) {
            return null;
        }
        return new Run.Latencies(median(r -> r.latencies().p50()), median(r -> r.latencies().p95()),
                median(r -> r.latencies().p99()), median(r -> r.latencies().max()));
    }

    long lost() {
        return runs.stream().mapToLong(Run::lost).sum();
    }

    long duplicates() {
        return runs.stream().mapToLong(Run::duplicates).sum();
    }

    String details() {
        return String.join("; ", runs.stream().map(Run::detail).filter(Objects::nonNull).filter(d -> !d.isEmpty())
                .distinct().toList());
    }

    private double median(ToDoubleFunction<Run> value) {
        return Bench.median(runs.stream().mapToDouble(value).toArray());
    }

    double[] throughputs() {
        return runs.stream().mapToDouble(Run::throughput).toArray();
    }

    @Override
    public String toString() {
        return group + " / " + name + ": " + Arrays.toString(throughputs());
    }
}
