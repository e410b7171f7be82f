package dev.pgnotify.examples.quarkus;

import java.sql.SQLException;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** {@code POST /orders {"item": "book", "quantity": 2}} places an order; {@code GET /orders} lists them. */
@Path("/orders")
@Produces(MediaType.APPLICATION_JSON)
public class OrderResource {

    private final OrderService orders;

    public OrderResource(OrderService orders) {
        this.orders = orders;
    }

    public record NewOrder(String item, int quantity) {
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response place(NewOrder order) throws SQLException, JsonProcessingException {
        long id = orders.placeOrder(order.item(), order.quantity());
        return Response.status(Response.Status.CREATED).entity(Map.of("id", id)).build();
    }

    @GET
    public List<Map<String, Object>> list() throws SQLException {
        return orders.orders();
    }

    @ServerExceptionMapper
    public Response refused(OrderService.OrderRefusedException e) {
        return Response.status(422).entity(Map.of("error", e.getMessage())).type(MediaType.APPLICATION_JSON).build();
    }
}
