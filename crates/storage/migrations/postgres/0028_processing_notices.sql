-- The processing notice each event's reporter was given (SECURITY.md PI-02): every
-- version of the text ever in force, and on each event the version that covered it.
-- Events from before, and history imported from other systems, have none.
CREATE TABLE processing_notices (
    version TEXT PRIMARY KEY,
    text_zh TEXT NOT NULL,
    text_en TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);
ALTER TABLE events ADD COLUMN notice_version TEXT REFERENCES processing_notices (version);
