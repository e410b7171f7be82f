/**
 * The user guide's Java samples that need Spring, camel-sql or Micrometer, kept verbatim so that they compile;
 * camel-pgnotify-examples' GuideSamplesTest finds each here.
 */
package dev.pgnotify.camel.springboot.guide;
