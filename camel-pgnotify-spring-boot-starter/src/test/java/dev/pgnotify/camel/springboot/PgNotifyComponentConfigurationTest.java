package dev.pgnotify.camel.springboot;

import java.beans.Introspector;
import java.beans.PropertyDescriptor;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.spring.boot.ComponentConfigurationPropertiesCommon;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The starter's properties stay in step with the component's generated metadata: one property per component option,
 * of the matching type (a duration as java.time.Duration), with the same default.
 */
class PgNotifyComponentConfigurationTest {

    @Test
    void everyComponentOptionIsAPropertyWithItsDefault() throws Exception {
        JsonNode options;
        try (InputStream in = getClass().getResourceAsStream("/META-INF/dev/pgnotify/camel/pgnotify.json")) {
            options = new ObjectMapper().readTree(in).get("componentProperties");
        }
        Map<String, PropertyDescriptor> properties = Set.of(
                Introspector.getBeanInfo(PgNotifyComponentConfiguration.class, ComponentConfigurationPropertiesCommon.class)
                        .getPropertyDescriptors())
                .stream().collect(Collectors.toMap(PropertyDescriptor::getName, p -> p));
        Set<String> optionNames = new TreeSet<>();
        options.fieldNames().forEachRemaining(optionNames::add);
        assertEquals(optionNames, new TreeSet<>(properties.keySet()));

        PgNotifyComponentConfiguration defaults = new PgNotifyComponentConfiguration();
        for (String name : optionNames) {
            JsonNode option = options.get(name);
            PropertyDescriptor property = properties.get(name);
            if ("duration".equals(option.get("type").asText())) {
                assertEquals(Duration.class, property.getPropertyType(), name);
            }
            Object value = property.getReadMethod().invoke(defaults);
            String expected = option.has("defaultValue") ? option.get("defaultValue").asText() : null;
            String actual = value instanceof Duration duration ? Long.toString(duration.toMillis())
                    : value == null ? null : value.toString().toLowerCase();
            assertEquals(expected == null ? null : expected.toLowerCase(), actual, name + "'s default");
        }
    }
}
