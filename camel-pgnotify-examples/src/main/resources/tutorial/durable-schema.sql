-- The tutorial's table as it wrote it, in a schema of its own (tutorial_durable, beside the original's tutorial).
CREATE SCHEMA IF NOT EXISTS tutorial_durable;

CREATE TABLE IF NOT EXISTS tutorial_durable.message_queue (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    message    jsonb NOT NULL,
    created_at timestamptz DEFAULT now()
);

-- The one change that makes it durable: instead of pg_notify, the trigger appends the row to a pgnotify topic (whose
-- log the listeners create at start). Every group of listeners receives every row, including the rows inserted while
-- it was away; a rolled-back INSERT is never delivered.
CREATE OR REPLACE FUNCTION tutorial_durable.publish_function() RETURNS trigger AS $$
BEGIN
    INSERT INTO tutorial_durable.message_topic (channel, body_json) VALUES ('sample_channel', row_to_json(NEW)::jsonb);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS message_queue_trigger ON tutorial_durable.message_queue;
CREATE TRIGGER message_queue_trigger
    AFTER INSERT ON tutorial_durable.message_queue
    FOR EACH ROW EXECUTE FUNCTION tutorial_durable.publish_function();
