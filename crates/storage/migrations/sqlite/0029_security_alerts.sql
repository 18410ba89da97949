-- Security alerts (SECURITY.md IP-09): raised by the background work of any
-- instance, once per key (kind, subject, time bucket), acknowledged by the security
-- administrator. Raising and acknowledging are audited.
CREATE TABLE security_alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    summary         TEXT NOT NULL,
    count           BIGINT NOT NULL,
    first_at        TEXT NOT NULL,
    last_at         TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    note            TEXT
);
CREATE INDEX security_alerts_open ON security_alerts (acknowledged_at, raised_at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);
