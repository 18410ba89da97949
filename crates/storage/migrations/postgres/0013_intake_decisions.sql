-- What the intake decided about a new event besides its place, stored with it in
-- the same insert: the classifier's suggestions and evidence (JSON,
-- zhili_domain::Classification), whether it waits in the triage queue, the
-- routing rule that suggested its units, and the open event it duplicates.
ALTER TABLE events ADD COLUMN classification TEXT;
ALTER TABLE events ADD COLUMN needs_triage BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE events ADD COLUMN routing_rule_id BIGINT;
ALTER TABLE events ADD COLUMN duplicate_of BIGINT REFERENCES events(id);
CREATE INDEX events_triage ON events(township_id, needs_triage);
CREATE INDEX events_duplicate_of ON events(duplicate_of);
