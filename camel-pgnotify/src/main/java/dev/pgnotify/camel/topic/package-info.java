/**
 * mode=topic: durable broadcast. The log is insert-only and partitioned into slots emptied whole; a group reads it in
 * cuts (what became visible since its previous snapshot) split into batches, which its consumers lease through the
 * claim engine. Here: the log and its companions, their functions ({@link dev.pgnotify.camel.topic.TopicFunctions}),
 * the SQL, the work store, the producer, maintenance and operations. Uses the same packages as {@code queue}.
 */
package dev.pgnotify.camel.topic;
