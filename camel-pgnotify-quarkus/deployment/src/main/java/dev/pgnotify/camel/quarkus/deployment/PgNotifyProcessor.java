package dev.pgnotify.camel.quarkus.deployment;

import io.quarkus.arc.deployment.AdditionalBeanBuildItem;
import io.quarkus.deployment.Capabilities;
import io.quarkus.deployment.Capability;
import io.quarkus.deployment.annotations.BuildProducer;
import io.quarkus.deployment.annotations.BuildStep;
import io.quarkus.deployment.builditem.FeatureBuildItem;
import io.quarkus.deployment.builditem.IndexDependencyBuildItem;
import io.quarkus.deployment.builditem.nativeimage.NativeImageResourceBuildItem;
import io.quarkus.deployment.builditem.nativeimage.ReflectiveClassBuildItem;
import io.quarkus.smallrye.health.deployment.spi.HealthBuildItem;
import org.apache.camel.quarkus.core.deployment.spi.CamelServiceDestination;
import org.apache.camel.quarkus.core.deployment.spi.CamelServicePatternBuildItem;

/**
 * What Quarkus must know of pgnotify at build time. In JVM mode Camel Quarkus finds the component, its generated
 * configurers and URI factory through their service files; the reflection and resources registered here are what a
 * native image would need on top (see docs/quarkus.md for what native still lacks).
 */
class PgNotifyProcessor {

    static final String FEATURE = "camel-pgnotify";

    /** The classes Camel creates or binds by name: through service files, the catalog or reflection. */
    private static final String[] CREATED_BY_NAME = {
            "dev.pgnotify.camel.PgNotifyComponent",
            "dev.pgnotify.camel.PgNotifyEndpoint",
            "dev.pgnotify.camel.PgNotifyConfiguration",
            "dev.pgnotify.camel.PgNotifyComponentConfigurer",
            "dev.pgnotify.camel.PgNotifyEndpointConfigurer",
            "dev.pgnotify.camel.PgNotifyEndpointUriFactory",
            "dev.pgnotify.camel.PgNotifyDevConsole",
            "dev.pgnotify.camel.PgNotifyMode",
            "dev.pgnotify.camel.PgNotifyStatistics",
            "dev.pgnotify.camel.PgNotifyHeaderFilterStrategy",
    };

    @BuildStep
    FeatureBuildItem feature() {
        return new FeatureBuildItem(FEATURE);
    }

    /** The component's classes in the index, for Camel Quarkus's scans (type converters, dev console). */
    @BuildStep
    IndexDependencyBuildItem indexComponent() {
        return new IndexDependencyBuildItem("dev.pgnotify", "camel-pgnotify");
    }

    /** The DataSource and transaction setup; unremovable, as nothing injects them (Camel looks them up). */
    @BuildStep
    AdditionalBeanBuildItem beans() {
        return AdditionalBeanBuildItem.builder()
                .addBeanClasses("dev.pgnotify.camel.quarkus.PgNotifyQuarkusSetup",
                        "dev.pgnotify.camel.quarkus.JtaPgNotifyTransactions")
                .setUnremovable()
                .build();
    }

    /** pgnotify's consumers in /q/health, only when the application has SmallRye Health. */
    @BuildStep
    void health(Capabilities capabilities, BuildProducer<HealthBuildItem> health) {
        if (capabilities.isPresent(Capability.SMALLRYE_HEALTH)) {
            health.produce(new HealthBuildItem("dev.pgnotify.camel.quarkus.PgNotifyReadinessCheck", true));
        }
    }

    /** pgnotify's dev console, which Camel Quarkus's core does not look for (camel-quarkus-console would). */
    @BuildStep
    CamelServicePatternBuildItem devConsole() {
        return new CamelServicePatternBuildItem(CamelServiceDestination.DISCOVERY, true,
                "META-INF/services/org/apache/camel/dev-console/pgnotify");
    }

    @BuildStep
    ReflectiveClassBuildItem reflection() {
        return ReflectiveClassBuildItem.builder(CREATED_BY_NAME).methods().fields().build();
    }

    /** The component's catalog metadata (tooling reads it; Camel's own runtime does not need it). */
    @BuildStep
    NativeImageResourceBuildItem metadata() {
        return new NativeImageResourceBuildItem("META-INF/dev/pgnotify/camel/pgnotify.json");
    }
}
