-- Photos of events. `original` is kept as uploaded (EXIF position and time can matter
-- as evidence) for those handling the event; `public_copy` is the same image with
-- EXIF, XMP, IPTC and comments removed, served to everyone else. The type is the one
-- read from the bytes; the same bytes are stored once per event.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL REFERENCES events(id),
    uploaded_by  INTEGER REFERENCES users(id),
    uploaded_at  TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    public_size  INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    original     BLOB NOT NULL,
    public_copy  BLOB NOT NULL,
    UNIQUE (event_id, sha256)
);
