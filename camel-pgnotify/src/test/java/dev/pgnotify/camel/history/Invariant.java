package dev.pgnotify.camel.history;

/** What the checker checks; each violation names one. */
public enum Invariant {

    COMPLETED("every acknowledged send completed at least once (mode=topic: in every group), or, planned to always"
              + " fail, is a dead letter"),
    ROLLED_BACK("nothing from a rolled-back transaction was ever delivered or stored"),
    NOT_BEFORE_DUE("nothing was delivered before it was due (send begin + CamelPgNotifyDelay)"),
    KEY_ORDER("per key: a send acknowledged before another began completed (or was dead-lettered) before the other's"
              + " first delivery started, unless a lease-losing fault came between"),
    KEY_EXCLUSIVE("per key: no two deliveries at the same time, unless a lease-losing fault came between"),
    DUPLICATES("a delivery after a successful one, or two at once, only where a lease-losing fault came between"),
    DEAD_LETTERS("dead letters only after maxAttempts deliveries that failed (or that a lease-losing fault cut short),"
                 + " never after a successful delivery"),
    SENT("every delivered message or dead letter was sent by the plan"),
    CONSUMERS_WORKING("every consumer JVM had all its consumer threads claiming, second after second (none stopped"
                      + " by a fault or by what a route did while the route still looked started)");

    private final String description;

    Invariant(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
