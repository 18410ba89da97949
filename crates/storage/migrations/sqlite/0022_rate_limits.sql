-- Rate limits (server/src/rate_limit.rs): hits per key (a limit and a client address)
-- per fixed window, kept in the database so that every instance counts together.
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL, -- Unix seconds
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits(window_start);
