-- The responsibility (routing) matrix (H3, H7): for a category and an area (a grid,
-- village or township; NULL for the whole city), the lead unit, assisting units and
-- the level that runs the event. The most specific rule wins (see storage/src/routing.rs).
CREATE TABLE routing_rules (
    -- AUTOINCREMENT: events and counted dispatches keep the id of a deleted rule, so
    -- an id is never given out again (as PostgreSQL's identity never does).
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    area_id      INTEGER REFERENCES orgs(id),
    lead_unit_id INTEGER NOT NULL REFERENCES orgs(id),
    -- grid | village | township | city
    level        TEXT NOT NULL,
    note         TEXT,
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- One rule per (category, area). NULLs are distinct in a UNIQUE constraint, so the
-- city-wide rule of a category gets an index of its own.
CREATE UNIQUE INDEX routing_rules_area ON routing_rules(category_id, area_id) WHERE area_id IS NOT NULL;
CREATE UNIQUE INDEX routing_rules_city ON routing_rules(category_id) WHERE area_id IS NULL;

CREATE TABLE routing_rule_units (
    rule_id  INTEGER NOT NULL REFERENCES routing_rules(id) ON DELETE CASCADE,
    unit_id  INTEGER NOT NULL REFERENCES orgs(id),
    -- the order the admin gave, kept so that an export imports back identically
    seq      INTEGER NOT NULL,
    PRIMARY KEY (rule_id, unit_id)
);

-- Every dispatch of an event a rule sent: whether it followed the rule's lead unit,
-- and whether that unit returned it (退回). The mis-routing rate of a rule is
-- returned / followed. No foreign key to the rule: the facts outlive a deleted rule.
CREATE TABLE routing_dispatches (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES events(id),
    rule_id       INTEGER NOT NULL,
    lead_unit_id  INTEGER NOT NULL REFERENCES orgs(id),
    suggested_id  INTEGER NOT NULL REFERENCES orgs(id),
    followed      BOOLEAN NOT NULL,
    dispatched_at TEXT NOT NULL,
    returned_at   TEXT
);
CREATE INDEX routing_dispatches_rule ON routing_dispatches(rule_id);
CREATE INDEX routing_dispatches_event ON routing_dispatches(event_id);
