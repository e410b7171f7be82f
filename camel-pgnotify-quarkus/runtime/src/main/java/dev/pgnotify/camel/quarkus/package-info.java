/**
 * pgnotify in Camel Quarkus, at run time: the component given the application's Agroal DataSource
 * ({@link dev.pgnotify.camel.quarkus.PgNotifyQuarkusSetup}), producers and transacted consumers in Narayana's JTA
 * transactions ({@link dev.pgnotify.camel.quarkus.JtaPgNotifyTransactions}), the consumers' health in SmallRye Health
 * ({@link dev.pgnotify.camel.quarkus.PgNotifyReadinessCheck}). The build steps are in the -deployment module.
 */
package dev.pgnotify.camel.quarkus;
