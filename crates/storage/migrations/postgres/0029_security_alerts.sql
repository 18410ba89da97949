-- Security alerts (SECURITY.md IP-09): raised by the background work of any
-- instance, once per key (kind, subject, time bucket), acknowledged by the security
-- administrator. Raising and acknowledging are audited.
CREATE TABLE security_alerts (
    id              BIGSERIAL PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    summary         TEXT NOT NULL,
    count           BIGINT NOT NULL,
    first_at        TIMESTAMPTZ NOT NULL,
    last_at         TIMESTAMPTZ NOT NULL,
    raised_at       TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by TEXT,
    note            TEXT
);
CREATE INDEX security_alerts_open ON security_alerts (acknowledged_at, raised_at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);
