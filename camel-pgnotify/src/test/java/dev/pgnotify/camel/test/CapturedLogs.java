package dev.pgnotify.camel.test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/**
 * What is logged while open, with stack traces: at the configured levels, or with {@link #everything()} at DEBUG and
 * above, to check what must never be logged whatever the level.
 */
public final class CapturedLogs implements AutoCloseable {

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final AbstractAppender appender;
    private final Map<LoggerConfig, Level> previousLevels = new HashMap<>();

    /** Captures at the configured levels. */
    public CapturedLogs() {
        this(null);
    }

    /** Captures everything from DEBUG up, whatever the configured levels (which it restores on close). */
    public static CapturedLogs everything() {
        return new CapturedLogs(Level.DEBUG);
    }

    private CapturedLogs(Level lowered) {
        appender = new AbstractAppender("captured-" + System.nanoTime(), null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                StringBuilder line = new StringBuilder(event.getLoggerName()).append(' ')
                        .append(event.getMessage().getFormattedMessage());
                for (Throwable t = event.getThrown(); t != null; t = t.getCause()) {
                    line.append(" | ").append(t);
                }
                lines.add(line.toString());
            }
        };
        appender.start();
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration configuration = context.getConfiguration();
        Set<LoggerConfig> loggers = new HashSet<>(configuration.getLoggers().values());
        loggers.add(configuration.getRootLogger());
        for (LoggerConfig logger : loggers) {
            previousLevels.put(logger, logger.getLevel());
            logger.addAppender(appender, Level.DEBUG, null);
            if (lowered != null) {
                logger.setLevel(lowered);
            }
        }
        context.updateLoggers();
    }

    public List<String> lines() {
        return lines;
    }

    public boolean anyContains(String text) {
        return lines.stream().anyMatch(line -> line.contains(text));
    }

    @Override
    public void close() {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        previousLevels.forEach((logger, level) -> {
            logger.removeAppender(appender.getName());
            logger.setLevel(level);
        });
        context.updateLoggers();
        appender.stop();
    }
}
