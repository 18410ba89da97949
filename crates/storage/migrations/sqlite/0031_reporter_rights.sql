-- A reporter's rights over their data (SECURITY.md PI-08, IA-11). One-time codes
-- sent by SMS prove a phone: only keyed hashes of the phone and the code are kept,
-- and the pass a right code earns is kept as its SHA-256. Requests to correct or
-- delete a report's personal data wait here for the command room, with a deadline;
-- the new name and phone and the reporter's note are sealed like the reporter's.
CREATE TABLE phone_codes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_index     TEXT NOT NULL,
    code_hash       TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    used_at         TEXT,
    pass_hash       TEXT UNIQUE,
    pass_expires_at TEXT
);
CREATE INDEX phone_codes_by_phone ON phone_codes (phone_index, sent_at);
CREATE TABLE rights_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      BIGINT NOT NULL REFERENCES events (id),
    kind          TEXT NOT NULL,
    phone_index   TEXT NOT NULL,
    new_name      TEXT,
    new_phone     TEXT,
    note          TEXT,
    status        TEXT NOT NULL DEFAULT 'open',
    requested_at  TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    decided_at    TEXT,
    decided_by    BIGINT REFERENCES users (id),
    decision_note TEXT
);
CREATE INDEX rights_requests_open ON rights_requests (status, due_at);
CREATE INDEX rights_requests_by_event ON rights_requests (event_id);
