package dev.pgnotify.camel;

import org.apache.camel.spi.Metadata;

/**
 * Headers of the pgnotify component.
 */
public final class PgNotifyConstants {

    @Metadata(label = "consumer", description = "The channel the message was received on.", javaType = "String",
              important = true)
    public static final String CHANNEL = "CamelPgNotifyChannel";

    @Metadata(label = "consumer",
              description = "mode=notify: the process id of the PostgreSQL backend that sent the notification.",
              javaType = "Integer")
    public static final String PROCESS_ID = "CamelPgNotifyProcessId";

    private PgNotifyConstants() {
    }
}
