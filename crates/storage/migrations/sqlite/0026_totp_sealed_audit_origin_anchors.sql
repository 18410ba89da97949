-- TOTP secrets are sealed at rest like the other personal data (storage/src/pii.rs,
-- Field::TotpSecret / TotpPending). The pass that seals values stored in plain text
-- runs at unlock while sealed_at is empty: cleared here so that it runs once more
-- and seals the secrets bound before this version.
UPDATE pii_keys SET sealed_at = NULL;

-- Where every audit record came from (AU-02, storage/src/audit.rs): the client's
-- address and the request id of the HTTP request it was written for (empty for
-- background work and the CLI), and the role and area the actor acted in. The
-- hash covers them; empty, they are left out of it, so older records verify as
-- before.
ALTER TABLE audit_log ADD COLUMN actor_role TEXT;
ALTER TABLE audit_log ADD COLUMN actor_org_id BIGINT;
ALTER TABLE audit_log ADD COLUMN ip TEXT;
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
-- What one address did (PI-11), what one request did.
CREATE INDEX audit_log_ip ON audit_log(ip) WHERE ip IS NOT NULL;
CREATE INDEX audit_log_request_id ON audit_log(request_id) WHERE request_id IS NOT NULL;

-- Signed anchors the system keeps itself (AU-03, storage/src/audit.rs): the chain's
-- head (id and hash) at a moment, signed with HMAC-SHA256 under a key derived from
-- the personal-data field keys, which only the master key opens. A database owner
-- who rewrites or cuts the chain and recomputes every hash cannot sign a new
-- anchor to match. Written by the background work of any instance, at most once per
-- interval and only when the chain has grown; append-only like the log.
CREATE TABLE audit_anchors (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    head_id    BIGINT NOT NULL UNIQUE,
    head_hash  TEXT NOT NULL,
    at         TEXT NOT NULL,
    signature  TEXT NOT NULL,
    written_by TEXT NOT NULL
);
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_anchors is append-only');
END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit_anchors is append-only');
END;
