-- Supervision orders (督办, H4/O6): an order on one event with a level, a due time,
-- an optional named leader and replies. Focus issues get a 挂牌督办 order with their
-- responsible leader automatically when accepted. Kept in step with
-- ../postgres/0009_supervision.sql.

CREATE TABLE supervision_orders (
    id             INTEGER PRIMARY KEY,
    event_id       INTEGER NOT NULL REFERENCES events(id),
    -- ordinary / listed / leader_owned
    level          TEXT NOT NULL,
    leader_name    TEXT,
    leader_user_id INTEGER REFERENCES users(id),
    due_at         TEXT NOT NULL,
    note           TEXT NOT NULL,
    -- NULL for the system (a focus issue's automatic order)
    issued_by      INTEGER REFERENCES users(id),
    issued_by_name TEXT NOT NULL,
    issued_by_role TEXT,
    issued_at      TEXT NOT NULL,
    automatic      BOOLEAN NOT NULL DEFAULT FALSE,
    -- open / replied / done / withdrawn
    status         TEXT NOT NULL,
    closed_at      TEXT,
    closed_by_name TEXT,
    close_note     TEXT
);
CREATE INDEX supervision_orders_event ON supervision_orders(event_id);
CREATE INDEX supervision_orders_status ON supervision_orders(status, due_at);

CREATE TABLE supervision_replies (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES supervision_orders(id),
    text       TEXT NOT NULL,
    by_user_id INTEGER REFERENCES users(id),
    by_name    TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX supervision_replies_order ON supervision_replies(order_id);

-- Who answers for a focus category (O6: responsibility split out by the
-- political-legal committee), for the whole city (township_id NULL) or one township.
CREATE TABLE focus_leaders (
    id             INTEGER PRIMARY KEY,
    category_id    INTEGER NOT NULL REFERENCES categories(id),
    township_id    INTEGER REFERENCES orgs(id),
    leader_name    TEXT NOT NULL,
    leader_user_id INTEGER REFERENCES users(id),
    updated_at     TEXT NOT NULL,
    updated_by     INTEGER REFERENCES users(id)
);
CREATE UNIQUE INDEX focus_leaders_key ON focus_leaders(category_id, COALESCE(township_id, 0));
