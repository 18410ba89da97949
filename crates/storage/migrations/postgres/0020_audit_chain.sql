-- The audit log as a hash chain (storage/src/audit.rs): every record carries the hash
-- of the record before it and its own, hash = SHA-256(prev_hash ‖ canonical record),
-- so `zhili audit verify` finds the first record edited, deleted or moved. The chain
-- is written by the application in the same transaction as the change it records,
-- under a transaction-scoped advisory lock so that concurrent writers (of this and
-- other instances) append one after the other instead of forking it.
-- Records from before this migration are sealed once by `Store::migrate`.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- Append-only, for the audit log and for the event timeline (the business history,
-- where a correction is a new entry): the application never changes or removes a
-- row, so the database refuses to. Sealing a record from before the chain is the one
-- update allowed.
CREATE FUNCTION zhili_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW WHEN (OLD.hash IS NOT NULL) EXECUTE FUNCTION zhili_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION zhili_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION zhili_append_only();
CREATE TRIGGER timeline_no_change BEFORE UPDATE OR DELETE ON timeline
    FOR EACH ROW EXECUTE FUNCTION zhili_append_only();
CREATE TRIGGER timeline_no_truncate BEFORE TRUNCATE ON timeline
    FOR EACH STATEMENT EXECUTE FUNCTION zhili_append_only();
