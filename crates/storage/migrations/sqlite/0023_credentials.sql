-- Password lifecycle and the second factor (domain/src/credentials.rs): a one-time
-- password must be changed at the first login, a password has an age, and an
-- account may have a TOTP authenticator bound. The last accepted TOTP step makes
-- each code work once, on every instance.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_changed_at TEXT;
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
UPDATE users SET password_changed_at = created_at;
