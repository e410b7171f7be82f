CREATE TABLE IF NOT EXISTS orders (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item       text        NOT NULL,
    quantity   integer     NOT NULL,
    placed_at  timestamptz NOT NULL DEFAULT now(),
    shipped_at timestamptz
);
