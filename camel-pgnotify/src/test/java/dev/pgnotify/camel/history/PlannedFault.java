package dev.pgnotify.camel.history;

/**
 * One scheduled fault: its kind, when it begins (milliseconds after the run's start), how long it holds (for the kinds
 * that hold), and which consumer JVM it aims at (for a kill), or a number the injector uses to choose among what it
 * finds (for terminated backends).
 */
public record PlannedFault(long offsetMillis, FaultKind kind, long holdMillis, int target) {
}
