-- zhili schema v1 (SQLite). Kept in step with ../postgres/0001_init.sql: same tables,
-- same columns, same version numbers; a test compares the two.

CREATE TABLE orgs (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    parent_id     INTEGER REFERENCES orgs(id),
    -- the department a stationed unit belongs to
    department_id INTEGER REFERENCES orgs(id),
    -- the township an area or a stationed unit lies in (itself for a township)
    township_id   INTEGER REFERENCES orgs(id),
    grid_type     TEXT,
    -- grid outline: JSON array of [lon, lat] pairs, WGS-84, closed ring
    polygon       TEXT
);
CREATE INDEX orgs_kind ON orgs(kind);
CREATE INDEX orgs_parent ON orgs(parent_id);

CREATE TABLE categories (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    parent_id     INTEGER REFERENCES categories(id),
    platform      TEXT NOT NULL,
    focus         BOOLEAN NOT NULL DEFAULT FALSE,
    limit_days    INTEGER NOT NULL,
    department_id INTEGER REFERENCES orgs(id)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    org_id        INTEGER REFERENCES orgs(id),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- named sequences that must not repeat across processes (daily event numbers)
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    number           TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL,
    external_id      TEXT,
    reporter_kind    TEXT NOT NULL,
    reporter_name    TEXT,
    reporter_phone   TEXT,
    reporter_user_id INTEGER REFERENCES users(id),
    text             TEXT NOT NULL,
    address          TEXT,
    lon              REAL,
    lat              REAL,
    category_id      INTEGER REFERENCES categories(id),
    township_id      INTEGER NOT NULL REFERENCES orgs(id),
    village_id       INTEGER REFERENCES orgs(id),
    grid_id          INTEGER REFERENCES orgs(id),
    priority         TEXT NOT NULL,
    status           TEXT NOT NULL,
    lead_unit_id     INTEGER REFERENCES orgs(id),
    -- the lifecycle state (zhili_domain::EventState) as JSON; status and
    -- lead_unit_id above are copies of it kept for querying
    state            TEXT NOT NULL,
    reported_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    closed_at        TEXT,
    created_by       INTEGER REFERENCES users(id),
    version          INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT events_channel_external_id UNIQUE (channel, external_id)
);
CREATE INDEX events_township ON events(township_id, reported_at);
CREATE INDEX events_grid ON events(grid_id);
CREATE INDEX events_status ON events(status);
CREATE INDEX events_reported_at ON events(reported_at);
CREATE INDEX events_reporter ON events(reporter_user_id);
CREATE INDEX events_lead_unit ON events(lead_unit_id);

-- every unit an event was ever dispatched to: unit handlers keep seeing those
CREATE TABLE event_units (
    event_id    INTEGER NOT NULL REFERENCES events(id),
    unit_id     INTEGER NOT NULL REFERENCES orgs(id),
    role        TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    PRIMARY KEY (event_id, unit_id)
);
CREATE INDEX event_units_unit ON event_units(unit_id);

-- append-only: every transition with who, when, from, to and why
CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events(id),
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    note        TEXT,
    data        TEXT,
    CONSTRAINT timeline_event_seq UNIQUE (event_id, seq)
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
