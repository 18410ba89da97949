-- The audit log as a hash chain (storage/src/audit.rs): every record carries the hash
-- of the record before it and its own, hash = SHA-256(prev_hash ‖ canonical record),
-- so `zhili audit verify` finds the first record edited, deleted or moved. The chain
-- is written by the application in the same transaction as the change it records.
-- Records from before this migration are sealed once by `Store::migrate`.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- Append-only, for the audit log and for the event timeline (the business history,
-- where a correction is a new entry): the application never changes or removes a
-- row, so the database refuses to. Sealing a record from before the chain is the one
-- update allowed.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER timeline_no_update BEFORE UPDATE ON timeline
BEGIN
    SELECT RAISE(ABORT, 'timeline is append-only');
END;
CREATE TRIGGER timeline_no_delete BEFORE DELETE ON timeline
BEGIN
    SELECT RAISE(ABORT, 'timeline is append-only');
END;
