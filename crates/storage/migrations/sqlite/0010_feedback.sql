-- Feedback to the reporter (O3) through a one-time rating link, and the secret the
-- public check codes (查询码) are derived from. Kept in step with
-- ../postgres/0010_feedback.sql.

-- One link per inform (反馈): only the SHA-256 of the token is kept, so a copy of
-- the database cannot be used to answer for a reporter. A link is spent when it is
-- used, when the event is rated another way, or when a later inform replaces it.
CREATE TABLE feedback_tokens (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL REFERENCES events(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    -- how it was spent: 'answered' (by the reporter), 'rated' (rated another way),
    -- 'replaced' (a later inform made a new link)
    used_how     TEXT
);
CREATE INDEX feedback_tokens_event ON feedback_tokens(event_id);

-- One row: the HMAC key of the check codes. Created once by whichever instance
-- gets there first (INSERT … ON CONFLICT DO NOTHING), then read by all.
CREATE TABLE check_code_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);
