/**
 * A history checker: it hunts for interleavings that break pgnotify's guarantees under random faults.
 * <p>
 * One seed gives one {@link dev.pgnotify.camel.history.HistoryPlan plan}: what to send (keys, priorities, delays,
 * planned route failures, rolled-back and long-running SQL transactions) and when to inject which fault (SIGKILL of a
 * consumer or producer JVM, terminated backends, frozen connections, server restarts and crashes, a session holding an
 * xid or a snapshot, forced lease expiry). {@link dev.pgnotify.camel.history.HistoryRun} plays it against a real,
 * restartable PostgreSQL with consumers in several JVMs; every JVM appends what it did to a file of its own, one line
 * per event ({@link dev.pgnotify.camel.history.EventLog}), never to the database under test, which crashes. After a
 * drain with the faults stopped, {@link dev.pgnotify.camel.history.HistoryChecker} reads every file and the database's
 * final state and checks the guarantees (every acknowledged send completed, nothing rolled back delivered, nothing
 * delivered before it was due, per-key order and exclusion, duplicates and dead letters only where a fault explains
 * them), reporting each violation with the seed that replays it ({@code -Dhistory.seed=...}).
 * <p>
 * Test support: {@code HistoryCheckerIT} runs a few seeds in {@code mvn verify}; the benchmark module's
 * {@code HistoryWorkload} runs it for half an hour or more.
 */
package dev.pgnotify.camel.history;
