import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * A JDK-only HTTP client for trying the demo's HTTP-in bridge without installing anything:
 * java camel-pgnotify-examples/Post.java URL CONTENT-TYPE BODY. A BODY of the form @N sends N times the letter x.
 */
public class Post {

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: java Post.java URL CONTENT-TYPE BODY (or @N for N bytes)");
            System.exit(2);
        }
        String body = args[2].startsWith("@") ? "x".repeat(Integer.parseInt(args[2].substring(1))) : args[2];
        HttpRequest request = HttpRequest.newBuilder(URI.create(args[0])).header("Content-Type", args[1])
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.statusCode());
        System.out.println(response.body());
    }
}
