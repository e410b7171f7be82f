package dev.pgnotify.bench;

import java.util.Collections;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

import dev.pgnotify.camel.PgNotifyComponent;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.RouteBuilder;

/**
 * The job-queue workload on pgnotify: a queue route with as many consumer threads as the baseline has workers, its
 * pool sized for them (workers + 2), and producers sending each batch with batch=true (one transaction).
 */
final class PgNotifyJobQueue implements JobQueueWorkloads.JobSystem {

    static final String NAME = "pgnotify queue";
    private static final String TABLE = "bench_job_queue";

    private final Bench bench;
    private final int workers;
    private final String channel;
    private CamelContext camel;
    private ProducerTemplate template;
    private Endpoint endpoint;

    PgNotifyJobQueue(Bench bench, int workers) throws Exception {
        this.bench = bench;
        this.workers = workers;
        this.channel = "bench_jobs_" + workers;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void start(LongConsumer pickedUp, Runnable done) throws Exception {
        camel = bench.camel();
        camel.getComponent("pgnotify", PgNotifyComponent.class).getConfiguration().setMaxPoolSize(workers + 2);
        String uri = "pgnotify:" + channel + "?table=" + TABLE;
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from(uri + "&concurrentConsumers=" + workers).routeId("jobs").process(exchange -> {
                    pickedUp.accept(JobBodies.sentNanos(exchange.getMessage().getBody(String.class)));
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(JobQueueWorkloads.WORK_MILLIS));
                    done.run();
                });
            }
        });
        camel.start();
        template = camel.createProducerTemplate();
        endpoint = camel.getEndpoint(uri + "&batch=true");
    }

    @Override
    public void insert(int producer, int jobs, long sentNanos) {
        template.sendBody(endpoint, Collections.nCopies(jobs, JobBodies.body(sentNanos)));
    }

    @Override
    public void empty() throws Exception {
        bench.sql("DELETE FROM " + TABLE);
    }

    @Override
    public void close() throws Exception {
        if (camel != null) {
            camel.close();
        }
    }
}
