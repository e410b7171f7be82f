-- The tutorial's schema, as it wrote it, in a schema of its own so that it never meets pgnotify's queue table.
CREATE SCHEMA IF NOT EXISTS tutorial;

CREATE TABLE IF NOT EXISTS tutorial.message_queue (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    message    jsonb NOT NULL,
    created_at timestamptz DEFAULT now()
);

CREATE OR REPLACE FUNCTION tutorial.notify_function() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sample_channel', row_to_json(NEW)::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS message_queue_trigger ON tutorial.message_queue;
CREATE TRIGGER message_queue_trigger
    AFTER INSERT ON tutorial.message_queue
    FOR EACH ROW EXECUTE FUNCTION tutorial.notify_function();
