package dev.pgnotify.camel.springboot;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Component;
import org.apache.camel.spi.ComponentCustomizer;
import org.apache.camel.spring.boot.CamelAutoConfiguration;
import org.apache.camel.spring.boot.ComponentConfigurationProperties;
import org.apache.camel.spring.boot.util.CamelPropertiesHelper;
import org.apache.camel.spring.boot.util.ConditionalOnCamelContextAndAutoConfigurationBeans;
import org.apache.camel.spring.boot.util.ConditionalOnHierarchicalProperties;
import org.apache.camel.spring.boot.util.HierarchicalPropertiesEvaluator;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Lazy;
import org.springframework.jdbc.datasource.DataSourceUtils;

/**
 * Configures the pgnotify component from {@code camel.component.pgnotify.*}, as camel-spring-boot's own starters do,
 * and lets pgnotify take part in Spring-managed transactions: with this starter, {@code to("pgnotify:...")} inside a
 * transaction on the component's DataSource inserts on the transaction's connection, and {@code transacted=true}
 * consumers process each message in a transaction of the application's transaction manager.
 * <p>
 * The DataSource needs no property: the component's {@code dataSource} option is autowired, so Spring Boot's own
 * DataSource is used when it is the only one and no {@code jdbc-url} is set.
 */
@AutoConfiguration(after = {CamelAutoConfiguration.class, PgNotifyComponentConverter.class})
@Conditional(ConditionalOnCamelContextAndAutoConfigurationBeans.class)
@EnableConfigurationProperties({ComponentConfigurationProperties.class, PgNotifyComponentConfiguration.class})
@ConditionalOnHierarchicalProperties({"camel.component", "camel.component.pgnotify"})
public class PgNotifyComponentAutoConfiguration {

    private static final String PREFIX = "camel.component.pgnotify";

    private final ApplicationContext applicationContext;
    private final CamelContext camelContext;
    private final PgNotifyComponentConfiguration configuration;

    public PgNotifyComponentAutoConfiguration(ApplicationContext applicationContext, CamelContext camelContext,
                                              PgNotifyComponentConfiguration configuration) {
        this.applicationContext = applicationContext;
        this.camelContext = camelContext;
        this.configuration = configuration;
    }

    @Lazy
    @Bean
    public ComponentCustomizer configurePgNotifyComponent() {
        return new ComponentCustomizer() {
            @Override
            public void configure(String name, Component target) {
                CamelPropertiesHelper.copyProperties(camelContext, configuration, target);
            }

            @Override
            public boolean isEnabled(String name, Component target) {
                return HierarchicalPropertiesEvaluator.evaluate(applicationContext, "camel.component.customizer",
                        PREFIX + ".customizer") && target instanceof PgNotifyComponent;
            }
        };
    }

    /**
     * Spring's transactions for pgnotify: autowired into the component as its only PgNotifyTransactions bean (an
     * application can declare its own instead).
     */
    /** Gauges of the channels' messages, when Micrometer is there (Spring Boot's actuator brings it). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    static class Metrics {
        @Bean
        @ConditionalOnMissingBean
        PgNotifyMetrics pgNotifyMetrics(ObjectProvider<MeterRegistry> registry) {
            return new PgNotifyMetrics(registry);
        }
    }

    @Bean
    @ConditionalOnMissingBean(PgNotifyTransactions.class)
    @ConditionalOnClass(DataSourceUtils.class)
    public SpringPgNotifyTransactions pgNotifySpringTransactions(ListableBeanFactory beans) {
        return new SpringPgNotifyTransactions(beans);
    }
}
