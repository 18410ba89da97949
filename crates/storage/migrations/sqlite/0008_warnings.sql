-- Warnings and escalation (issue #5): every clock of an event has a deadline and a
-- yellow time, computed in working time when the deadline is set (see
-- storage/src/deadlines.rs); the sweep fires each (event, clock, level, deadline)
-- once, whichever instance runs it, because deadline_alerts is unique on it.
ALTER TABLE events ADD COLUMN accept_due_at TEXT;
ALTER TABLE events ADD COLUMN accept_warn_at TEXT;
ALTER TABLE events ADD COLUMN handle_warn_at TEXT;
ALTER TABLE events ADD COLUMN feedback_warn_at TEXT;
ALTER TABLE events ADD COLUMN followup_due_at TEXT;
ALTER TABLE events ADD COLUMN followup_warn_at TEXT;
-- the rung of the escalation ladder; a copy of the state's level for querying
ALTER TABLE events ADD COLUMN level TEXT NOT NULL DEFAULT 'township';
CREATE INDEX events_accept_warn ON events(accept_warn_at);
CREATE INDEX events_handle_warn ON events(handle_warn_at);
CREATE INDEX events_feedback_warn ON events(feedback_warn_at);
CREATE INDEX events_followup_warn ON events(followup_warn_at);
CREATE INDEX events_level ON events(level);

CREATE TABLE deadline_alerts (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL REFERENCES events(id),
    clock     TEXT NOT NULL,
    level     TEXT NOT NULL,
    due_at    TEXT NOT NULL,
    fired_at  TEXT NOT NULL,
    CONSTRAINT deadline_alerts_once UNIQUE (event_id, clock, level, due_at)
);

-- In-app notices, addressed to an org: a unit, a township's command room, or the
-- city (its command centre and leaders). Each user marks them read for themselves.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER REFERENCES events(id),
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX notifications_org ON notifications(org_id, created_at);

CREATE TABLE notification_reads (
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    read_at         TEXT NOT NULL,
    PRIMARY KEY (notification_id, user_id)
);

-- where a staff member is told by SMS or e-mail (both optional)
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
