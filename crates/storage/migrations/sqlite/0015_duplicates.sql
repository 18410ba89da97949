-- Duplicate linking (issue #4, item 6): a new report close to an open one in place,
-- time and wording is linked to it (events.duplicate_of, added in 0013) and its
-- reporter hears the master's feedback. The store-wide rule comes from the server
-- settings; a category may have its own here.
CREATE TABLE duplicate_settings (
    category_id    INTEGER PRIMARY KEY REFERENCES categories(id),
    radius_m       REAL NOT NULL,
    window_hours   INTEGER NOT NULL,
    min_similarity REAL NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL
);

-- The candidate query at intake: one category, reported within the window.
CREATE INDEX events_category_reported ON events(category_id, reported_at);

-- (SQLite's INTEGER is 64-bit already; PostgreSQL widens duplicate_of here.)
