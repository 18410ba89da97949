-- Open311 API clients (docs/open311.md). Each outside system that posts service
-- requests has a key, stored only as its SHA-256 (hex), and acts as a zhili user of
-- its own with role `integration`, so its events are attributed to it and it sees
-- only what it put in. Kept in step with ../postgres/0005_api_clients.sql.
CREATE TABLE api_clients (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL
);
