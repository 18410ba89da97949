-- Recurring problems and governance topics (D4, O5): reports of one category that
-- keep coming back to one place raise an alert for the township's command room,
-- which can open a governance topic (治理专题) that links the events and is tracked
-- to its root cause. Found and solved topics are the O5 "deep-seated problems".
CREATE TABLE recurring_alerts (
    id              INTEGER PRIMARY KEY,
    category_id     INTEGER NOT NULL REFERENCES categories(id),
    township_id     INTEGER NOT NULL REFERENCES orgs(id),
    -- the earliest event of the cluster: two instances finding it make one alert
    anchor_event_id INTEGER NOT NULL REFERENCES events(id),
    -- open | dismissed | topic
    status          TEXT NOT NULL,
    lon             REAL NOT NULL,
    lat             REAL NOT NULL,
    first_at        TEXT NOT NULL,
    last_at         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    handled_by      TEXT,
    handled_at      TEXT,
    note            TEXT,
    CONSTRAINT recurring_alerts_anchor UNIQUE (anchor_event_id)
);
CREATE INDEX recurring_alerts_township ON recurring_alerts(township_id, status);

-- an event belongs to at most one alert
CREATE TABLE recurring_alert_events (
    alert_id INTEGER NOT NULL REFERENCES recurring_alerts(id),
    event_id INTEGER NOT NULL REFERENCES events(id),
    PRIMARY KEY (alert_id, event_id),
    CONSTRAINT recurring_alert_events_once UNIQUE (event_id)
);

CREATE TABLE governance_topics (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER REFERENCES recurring_alerts(id),
    township_id INTEGER NOT NULL REFERENCES orgs(id),
    category_id INTEGER REFERENCES categories(id),
    title       TEXT NOT NULL,
    -- open | closed
    status      TEXT NOT NULL,
    root_cause  TEXT,
    measures    TEXT,
    opened_by   TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    closed_by   TEXT,
    closed_at   TEXT,
    CONSTRAINT governance_topics_alert UNIQUE (alert_id)
);
CREATE INDEX governance_topics_township ON governance_topics(township_id, opened_at);

CREATE TABLE topic_events (
    topic_id INTEGER NOT NULL REFERENCES governance_topics(id),
    event_id INTEGER NOT NULL REFERENCES events(id),
    PRIMARY KEY (topic_id, event_id)
);
CREATE INDEX topic_events_event ON topic_events(event_id);
