-- Personal data sealed at rest (storage/src/pii.rs, issue #7 item 4). The field
-- keys live here only wrapped under the master key, which never enters the
-- database. sealed_at is set once the values stored before sealing began have
-- been sealed, so that pass runs once.
CREATE TABLE pii_keys (
    name          TEXT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    wrapped       TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    rewrapped_at  TIMESTAMPTZ,
    sealed_at     TIMESTAMPTZ
);
-- The keyed hash of the reporter's phone: finds a caller's events, counts distinct
-- reporters, without the number in plain text.
ALTER TABLE events ADD COLUMN reporter_phone_index TEXT;
CREATE INDEX events_reporter_phone_index ON events(reporter_phone_index);
-- When the reporter's personal data of a closed event was erased (retention, PI-07).
ALTER TABLE events ADD COLUMN anonymised_at TIMESTAMPTZ;
CREATE INDEX events_closed_not_anonymised ON events(closed_at) WHERE anonymised_at IS NULL;
