package dev.pgnotify.camel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The queue's schema: created once even when four applications start together, verified when createSchema=false,
 * and never laid over a table of another shape.
 */
class QueueSchemaIT extends PgNotifyITSupport {

    private static final String TUTORIAL_COLUMNS = "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod),"
                                                   + " ', ' ORDER BY attnum) FROM pg_attribute"
                                                   + " WHERE attrelid = 'schema_it_tutorial.message_queue'::regclass"
                                                   + " AND attnum > 0 AND NOT attisdropped";

    @Test
    void incompatibleExistingTableGivesAClearErrorAndIsLeftUntouched() throws Exception {
        server().execute("DROP SCHEMA IF EXISTS schema_it_tutorial CASCADE", "CREATE SCHEMA schema_it_tutorial",
                "CREATE TABLE schema_it_tutorial.message_queue (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
                                                                                 + " message jsonb NOT NULL, created_at timestamptz DEFAULT now())",
                "INSERT INTO schema_it_tutorial.message_queue (message) VALUES ('{\"message\": \"kept\"}')");
        Object columnsBefore = server().queryValue(TUTORIAL_COLUMNS);

        var e = assertThrows(Exception.class, () -> startRoute("pgnotify:orders?table=schema_it_tutorial.message_queue"));

        String message = rootMessage(e);
        assertTrue(message.contains("schema_it_tutorial.message_queue exists but is not a pgnotify queue table"), message);
        assertTrue(message.contains("column id is uuid, not bigint"), message);
        assertTrue(message.contains("missing columns channel text, body_json jsonb"), message);
        assertTrue(message.contains("Nothing was changed"), message);
        assertEquals(columnsBefore, server().queryValue(TUTORIAL_COLUMNS), "same columns");
        assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM schema_it_tutorial.message_queue"))
                .longValue(), "same rows");
        assertEquals(Boolean.FALSE, server().queryValue(
                "SELECT to_regclass('schema_it_tutorial.message_queue_dead') IS NOT NULL"), "nothing created beside it");
        assertEquals(0L, ((Number) server().queryValue("SELECT count(*) FROM pg_trigger"
                                                       + " WHERE tgrelid = 'schema_it_tutorial.message_queue'::regclass"))
                .longValue(), "no trigger added");
    }

    @Test
    void withoutCreateSchemaAMissingSchemaIsNamedExactly() throws Exception {
        server().execute("DROP TABLE IF EXISTS schema_it_absent, schema_it_absent_dead CASCADE");

        var e = assertThrows(Exception.class, () -> startRoute("pgnotify:orders?table=schema_it_absent&createSchema=false"));

        String message = rootMessage(e);
        assertTrue(message.contains("missing table public.schema_it_absent, index public.schema_it_absent_key,"
                                    + " index public.schema_it_absent_priority, index public.schema_it_absent_claim,"
                                    + " dead-letter table public.schema_it_absent_dead,"
                                    + " table public.schema_it_absent_dedup, function public.schema_it_absent_dedup(),"
                                    + " trigger schema_it_absent_dedup on public.schema_it_absent,"
                                    + " function public.schema_it_absent_dedup_window(),"
                                    + " trigger schema_it_absent_dedup_window on public.schema_it_absent,"
                                    + " function public.schema_it_absent_wake_up(),"
                                    + " trigger schema_it_absent_wake_up on public.schema_it_absent,"
                                    + " function public.schema_it_absent_xid(),"
                                    + " trigger schema_it_absent_xid on public.schema_it_absent"),
                message);
        assertEquals(Boolean.FALSE, server().queryValue("SELECT to_regclass('schema_it_absent') IS NOT NULL"));
    }

    @Test
    void withoutCreateSchemaACompleteSchemaIsAccepted() throws Exception {
        server().execute("DROP TABLE IF EXISTS schema_it_complete, schema_it_complete_dead CASCADE");
        startRoute("pgnotify:orders?table=schema_it_complete").close();
        try (CamelContext camel = startRoute("pgnotify:orders?table=schema_it_complete&createSchema=false")) {
            assertTrue(camel.getRouteController().getRouteStatus("r").isStarted());
        }
    }

    @Test
    void fourApplicationsStartingTogetherCreateTheSchemaOnce() throws Exception {
        server().execute("DROP TABLE IF EXISTS schema_it_race, schema_it_race_dead CASCADE",
                "DROP FUNCTION IF EXISTS schema_it_race_wake_up()", "DROP FUNCTION IF EXISTS schema_it_race_xid()");
        CyclicBarrier together = new CyclicBarrier(4);
        ExecutorService starters = Executors.newFixedThreadPool(4);
        List<Future<CamelContext>> started = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            started.add(starters.submit((Callable<CamelContext>) () -> {
                together.await(30, TimeUnit.SECONDS);
                return startRoute("pgnotify:orders?table=schema_it_race");
            }));
        }
        List<CamelContext> contexts = new ArrayList<>();
        try {
            for (Future<CamelContext> f : started) {
                contexts.add(f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            for (CamelContext camel : contexts) {
                camel.close();
            }
            starters.shutdown();
        }
        assertEquals(4, contexts.size(), "all four started without error");
        // the wake-up, xid and the two deduplication triggers, once each
        assertEquals(4L, ((Number) server().queryValue("SELECT count(*) FROM pg_trigger"
                                                       + " WHERE tgrelid = 'schema_it_race'::regclass AND NOT tgisinternal"))
                .longValue());
        assertEquals(1L, ((Number) server().queryValue("SELECT count(*) FROM pg_proc WHERE proname = 'schema_it_race_wake_up'"))
                .longValue());
    }

    /** A context with one consumer route (id r) on the URI, started. */
    private static CamelContext startRoute(String uri) throws Exception {
        CamelContext camel = new DefaultCamelContext();
        try {
            PgNotifyComponent component = camel.getComponent("pgnotify", PgNotifyComponent.class);
            component.getConfiguration().setJdbcUrl(server().jdbcUrl());
            component.getConfiguration().setUsername(server().username());
            component.getConfiguration().setPassword(server().password());
            camel.addRoutes(new RouteBuilder() {
                @Override
                public void configure() {
                    from(uri).routeId("r").to("log:schema-it");
                }
            });
            camel.start();
            return camel;
        } catch (Exception e) {
            camel.close();
            throw e;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getMessage();
    }
}
