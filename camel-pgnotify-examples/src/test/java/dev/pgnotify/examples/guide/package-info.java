/**
 * The README and the user guide under docs/, checked against the project: every code sample compiled, run or
 * matched with what exists, every link followed. A page that drifts from the code fails the build here.
 */
package dev.pgnotify.examples.guide;
