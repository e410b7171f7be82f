package dev.pgnotify.camel.springboot;

import java.util.Set;

import javax.sql.DataSource;

import dev.pgnotify.camel.PgNotifyConfiguration;
import dev.pgnotify.camel.spi.PgNotifyTransactions;
import org.apache.camel.spi.HeaderFilterStrategy;
import org.springframework.boot.context.properties.ConfigurationPropertiesBinding;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.convert.TypeDescriptor;
import org.springframework.core.convert.converter.GenericConverter;

/**
 * Turns a property value {@code #bean:name} (or {@code #name}) into that bean, for the options that take one:
 * {@code camel.component.pgnotify.data-source=#bean:ordersDataSource}, say.
 */
@Configuration(proxyBeanMethods = false)
@ConfigurationPropertiesBinding
public class PgNotifyComponentConverter implements GenericConverter {

    private static final Set<Class<?>> BEAN_TYPES = Set.of(DataSource.class, PgNotifyConfiguration.class,
            PgNotifyTransactions.class, HeaderFilterStrategy.class);

    private final ApplicationContext applicationContext;

    public PgNotifyComponentConverter(ApplicationContext applicationContext) {
        this.applicationContext = applicationContext;
    }

    @Override
    public Set<ConvertiblePair> getConvertibleTypes() {
        return Set.of(new ConvertiblePair(String.class, DataSource.class),
                new ConvertiblePair(String.class, PgNotifyConfiguration.class),
                new ConvertiblePair(String.class, PgNotifyTransactions.class),
                new ConvertiblePair(String.class, HeaderFilterStrategy.class));
    }

    @Override
    public Object convert(Object source, TypeDescriptor sourceType, TypeDescriptor targetType) {
        if (source == null || !BEAN_TYPES.contains(targetType.getType())) {
            return null;
        }
        String reference = source.toString();
        if (!reference.startsWith("#")) {
            return null;
        }
        String name = reference.startsWith("#bean:") ? reference.substring("#bean:".length()) : reference.substring(1);
        return applicationContext.getBean(name, targetType.getType());
    }
}
