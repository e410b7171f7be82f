package dev.pgnotify.examples;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.camel.Route;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs, once the application has started, the routes it runs and where each came from (a YAML file, a Java class):
 * a route file of your own ({@code -Dcamel.main.routes-include-pattern=file:my-routes.yaml}) shows up here, or is
 * missing here, at once.
 */
final class LoadedRoutes extends MainListenerSupport {

    private static final Logger LOG = LoggerFactory.getLogger(LoadedRoutes.class);

    @Override
    public void afterStart(BaseMainSupport main) {
        Map<String, String> bySource = new TreeMap<>();
        for (Route route : main.getCamelContext().getRoutes()) {
            String source = route.getSourceLocationShort() != null ? route.getSourceLocationShort()
                    : route.getSourceLocation() != null ? route.getSourceLocation() : "Java";
            // a file's routes under the file (its line numbers left out), Java routes under their class
            String file = source.replaceFirst(":\\d+$", "");
            bySource.merge(file, route.getRouteId(), (a, b) -> a + ", " + b);
        }
        LOG.info("{} route(s) running: {}", main.getCamelContext().getRoutes().size(),
                bySource.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + ")")
                        .collect(Collectors.joining("; ")));
    }
}
