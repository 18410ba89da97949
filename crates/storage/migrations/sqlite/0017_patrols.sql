-- Patrol check-ins (巡查打卡, D5): a grid worker on patrol records where and when,
-- from the phone's position. The grid is the one the position lies in; a check-in
-- outside the worker's own grid is kept but flagged. A retry with the same
-- idempotency key returns the first check-in instead of a second one.
CREATE TABLE patrols (
    id               INTEGER PRIMARY KEY,
    worker_id        INTEGER NOT NULL REFERENCES users(id),
    -- the worker's own grid when checking in
    own_grid_id      INTEGER REFERENCES orgs(id),
    -- the grid the position lies in; NULL when in none
    grid_id          INTEGER REFERENCES orgs(id),
    -- the township of that grid (else of the worker's own grid): whose command room sees it
    township_id      INTEGER REFERENCES orgs(id),
    at               TEXT NOT NULL,
    -- WGS-84
    lon              REAL NOT NULL,
    lat              REAL NOT NULL,
    accuracy_m       REAL,
    note             TEXT,
    outside_own_grid BOOLEAN NOT NULL,
    -- an optional photo, metadata stripped
    photo            BLOB,
    photo_type       TEXT,
    idempotency_key  TEXT NOT NULL,
    CONSTRAINT patrols_idempotency UNIQUE (worker_id, idempotency_key)
);
CREATE INDEX patrols_township_at ON patrols(township_id, at);
CREATE INDEX patrols_worker_at ON patrols(worker_id, at);
