package dev.pgnotify.examples.springboot;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /orders {"item": "book", "quantity": 2}} places an order; {@code GET /orders} lists them. */
@RestController
@RequestMapping("/orders")
public class OrderController {

    private final OrderService orders;

    public OrderController(OrderService orders) {
        this.orders = orders;
    }

    public record NewOrder(String item, int quantity) {
    }

    @PostMapping
    public ResponseEntity<Map<String, Object>> place(@RequestBody NewOrder order) throws JsonProcessingException {
        long id = orders.placeOrder(order.item(), order.quantity());
        return ResponseEntity.status(HttpStatus.CREATED).body(Map.of("id", id));
    }

    @GetMapping
    public List<Map<String, Object>> list() {
        return orders.orders();
    }

    @ExceptionHandler(OrderService.OrderRefusedException.class)
    public ResponseEntity<Map<String, Object>> refused(OrderService.OrderRefusedException e) {
        return ResponseEntity.unprocessableEntity().body(Map.of("error", e.getMessage()));
    }
}
