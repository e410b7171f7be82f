package dev.pgnotify.camel.produce;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.temporal.TemporalAccessor;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import org.apache.camel.Exchange;
import org.apache.camel.NoTypeConversionAvailableException;
import org.apache.camel.spi.HeaderFilterStrategy;
import org.apache.camel.util.json.Jsoner;

/**
 * How bodies and headers are stored in a queue row: a body goes to exactly one of body_json (JSON objects and
 * arrays, queryable), body_text (other text, byte for byte) or body_bytes (everything else, byte for byte); headers
 * go to a jsonb object.
 */
public final class MessageCodec {

    private static final JsonFactory JSON = JsonFactory.builder().build();

    private final boolean storeJsonAsJsonb;
    private final HeaderFilterStrategy headerFilterStrategy;

    public MessageCodec(boolean storeJsonAsJsonb, HeaderFilterStrategy headerFilterStrategy) {
        this.storeJsonAsJsonb = storeJsonAsJsonb;
        this.headerFilterStrategy = headerFilterStrategy;
    }

    /** A body as stored: at most one of the three is set. */
    public record StoredBody(String json, String text, byte[] bytes) {
    }

    public StoredBody encodeBody(Object body, Exchange exchange) throws NoTypeConversionAvailableException {
        if (body == null) {
            return new StoredBody(null, null, null);
        }
        if (body instanceof byte[] bytes) {
            return new StoredBody(null, null, bytes);
        }
        if (body instanceof CharSequence || body instanceof Number || body instanceof Boolean
                || body instanceof Character || body instanceof Enum<?>) {
            return encodeText(body.toString());
        }
        if (body instanceof Map<?, ?> || body instanceof Collection<?>) {
            return new StoredBody(Jsoner.serialize(body), null, null);
        }
        if (body instanceof ByteBuffer buffer) {
            byte[] bytes = new byte[buffer.remaining()];
            buffer.duplicate().get(bytes);
            return new StoredBody(null, null, bytes);
        }
        // files, streams and anything else Camel can turn into bytes travel byte for byte
        return new StoredBody(null, null,
                exchange.getContext().getTypeConverter().mandatoryConvertTo(byte[].class, exchange, body));
    }

    private StoredBody encodeText(String text) {
        if (storeJsonAsJsonb && isJsonbDocument(text)) {
            return new StoredBody(text, null, null);
        }
        if (text.indexOf('\0') >= 0) {
            // PostgreSQL text cannot hold NUL characters; the bytes can
            return new StoredBody(null, null, text.getBytes(StandardCharsets.UTF_8));
        }
        return new StoredBody(null, text, null);
    }

    /**
     * Whether the text is one JSON object or array that jsonb accepts, checked by a streaming parse (no object
     * tree, so a 50 MB document costs no more than its own size).
     */
    public static boolean isJsonbDocument(String text) {
        int start = 0;
        while (start < text.length() && Character.isWhitespace(text.charAt(start))) {
            start++;
        }
        if (start == text.length() || text.charAt(start) != '{' && text.charAt(start) != '[') {
            return false;
        }
        if (text.contains("\\u0000")) {
            // valid JSON, but jsonb refuses the NUL escape
            return false;
        }
        try (JsonParser parser = JSON.createParser(text)) {
            int depth = 0;
            JsonToken token;
            while ((token = parser.nextToken()) != null) {
                if (token.isStructStart()) {
                    depth++;
                } else if (token.isStructEnd()) {
                    depth--;
                    if (depth == 0) {
                        return parser.nextToken() == null;
                    }
                }
            }
            return false;
        } catch (JsonProcessingException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The headers that travel, as a JSON object: those the filter lets out whose values are text, numbers, booleans
     * or (as text) characters, enums, UUIDs, dates and times.
     */
    public String encodeHeaders(Map<String, Object> headers, Exchange exchange) {
        StringWriter out = new StringWriter();
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            for (Map.Entry<String, Object> header : headers.entrySet()) {
                Object value = header.getValue();
                if (value == null || headerFilterStrategy.applyFilterToCamelHeaders(header.getKey(), value, exchange)) {
                    continue;
                }
                writeHeader(json, header.getKey(), value);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static void writeHeader(JsonGenerator json, String name, Object value) throws IOException {
        if (value instanceof String || value instanceof Character || value instanceof Enum<?> || value instanceof UUID
                || value instanceof TemporalAccessor) {
            json.writeStringField(name, value.toString());
        } else if (value instanceof Date date) {
            json.writeStringField(name, date.toInstant().toString());
        } else if (value instanceof Boolean bool) {
            json.writeBooleanField(name, bool);
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            json.writeNumberField(name, ((Number) value).longValue());
        } else if (value instanceof BigInteger big) {
            json.writeFieldName(name);
            json.writeNumber(big);
        } else if (value instanceof BigDecimal decimal) {
            json.writeNumberField(name, decimal);
        } else if (value instanceof Double || value instanceof Float) {
            double number = ((Number) value).doubleValue();
            if (Double.isFinite(number)) {
                json.writeNumberField(name, number);
            }
        }
        // other values (streams, beans, byte arrays) stay behind
    }

    /**
     * The stored headers that the filter lets in: integers as Integer or Long, other numbers as BigDecimal, nested
     * JSON (from rows written by other clients) as its JSON text.
     */
    public Map<String, Object> decodeHeaders(String headersJson, Exchange exchange) {
        Map<String, Object> headers = new LinkedHashMap<>();
        if (headersJson == null || headersJson.isEmpty()) {
            return headers;
        }
        try (JsonParser parser = JSON.createParser(headersJson)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return headers;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                Object value = readValue(parser);
                if (value != null && !headerFilterStrategy.applyFilterToExternalHeaders(name, value, exchange)) {
                    headers.put(name, value);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("The stored headers are not a JSON object: " + e.getMessage(), e);
        }
        return headers;
    }

    private static Object readValue(JsonParser parser) throws IOException {
        JsonToken token = parser.nextToken();
        switch (token) {
            case VALUE_STRING:
                return parser.getText();
            case VALUE_TRUE:
            case VALUE_FALSE:
                return parser.getBooleanValue();
            case VALUE_NUMBER_INT:
                return switch (parser.getNumberType()) {
                    case INT -> parser.getIntValue();
                    case LONG -> parser.getLongValue();
                    default -> parser.getBigIntegerValue();
                };
            case VALUE_NUMBER_FLOAT:
                return parser.getDecimalValue();
            case START_OBJECT:
            case START_ARRAY:
                StringWriter nested = new StringWriter();
                try (JsonGenerator copy = JSON.createGenerator(nested)) {
                    copy.copyCurrentStructure(parser);
                }
                return nested.toString();
            default:
                return null;
        }
    }
}
