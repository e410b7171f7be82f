package dev.pgnotify.bench;

import java.nio.file.Path;

/**
 * What to run, from system properties: bench.smoke (tiny counts, one run: for CI), bench.runs (repetitions, 3),
 * bench.out (where the report goes), bench.memory (the heap workloads, true), bench.mvccSeconds (the length of the free
 * and held-snapshot streams, 300), bench.soakMinutes (a soak at bench.soakRate msg/s, 500; 0 skips it), bench.kafka
 * (the Kafka relay against a real broker; true unless smoke), bench.tlsCpuRounds (rounds of the CPU comparison over TLS,
 * 7: this machine's noise needs more than the workloads' runs), bench.historyMinutes (the history checker under
 * random faults for that long, in rounds of bench.historyRoundSeconds, 300, seeds from bench.historySeed on; 0 skips
 * it, as the default and smoke runs do). bench.pgque names PgQue's install file, the topic's baseline
 * (../shared/baselines/pgque/pgque.sql; without it PgQue is not measured). bench.serverSettings
 * ("name=value;name=value") adds settings to the embedded server, for a diagnostic (auto_explain, say).
 * The job-queue workload reads its own (bench.jobWorkers, bench.jobStepSeconds, bench.jobFirstRate, bench.jobLastRate,
 * bench.jobProducers, bench.jobSystems): see {@link JobQueueWorkloads}.
 */
record BenchOptions(boolean smoke, int runs, Path out, boolean memory, String only, int mvccSeconds, int soakMinutes,
                    int soakRate, boolean kafka, int tlsCpuRounds, int historyMinutes, int historyRoundSeconds,
                    long historySeed) {

    static BenchOptions fromSystemProperties() {
        boolean smoke = Boolean.getBoolean("bench.smoke");
        int runs = Integer.getInteger("bench.runs", smoke ? 1 : 3);
        Path out = Path.of(System.getProperty("bench.out", "target/bench-report"));
        boolean memory = Boolean.parseBoolean(System.getProperty("bench.memory", "true"));
        // for profiling some workloads: bench.only=<part of a name>|<part of another>
        String only = System.getProperty("bench.only");
        // the free and held-snapshot streams, each this long
        int mvccSeconds = Integer.getInteger("bench.mvccSeconds", smoke ? 2 : 300);
        // the soak (not in the default run): -Dbench.soakMinutes=30
        int soakMinutes = Integer.getInteger("bench.soakMinutes", 0);
        int soakRate = Integer.getInteger("bench.soakRate", 500);
        // the Kafka relay against a broker started for it (not in a smoke run: the broker alone takes seconds)
        boolean kafka = Boolean.parseBoolean(System.getProperty("bench.kafka", Boolean.toString(!smoke)));
        int tlsCpuRounds = Integer.getInteger("bench.tlsCpuRounds", 7);
        // the history checker (not in the default run): -Dbench.historyMinutes=30
        int historyMinutes = Integer.getInteger("bench.historyMinutes", 0);
        int historyRoundSeconds = Integer.getInteger("bench.historyRoundSeconds", 300);
        long historySeed = Long.getLong("bench.historySeed", System.currentTimeMillis());
        return new BenchOptions(smoke, runs, out, memory, only, mvccSeconds, soakMinutes, soakRate, kafka,
                tlsCpuRounds, historyMinutes, historyRoundSeconds, historySeed);
    }

    /** Whether a workload runs: every one, or those whose name contains one of bench.only's |-separated parts. */
    boolean selects(String name) {
        if (only == null) {
            return true;
        }
        for (String part : only.split("\\|")) {
            if (name.contains(part)) {
                return true;
            }
        }
        return false;
    }

    /** A message count: the full one, or a small one for a smoke run. */
    int count(int full) {
        return smoke ? Math.max(100, full / 200) : full;
    }

    /** A duration in milliseconds: the full one, or a short one for a smoke run. */
    long millis(long full) {
        return smoke ? Math.max(200, full / 10) : full;
    }
}
