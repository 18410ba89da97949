-- Transactional outbox: anything leaving zhili (to 110, to provincial platforms,
-- notifications) is written here in the same transaction as the change that causes
-- it, then delivered by leased background work that any instance may do.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    topic           TEXT NOT NULL,
    -- sent to the receiver as Idempotency-Key: a redelivery is recognised there
    dedup_key       TEXT NOT NULL UNIQUE,
    event_id        INTEGER REFERENCES events(id),
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    receipt         TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
