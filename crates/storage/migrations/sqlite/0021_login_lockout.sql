-- Login lockout (domain/src/lockout.rs): an account's failed logins in the current
-- window, and until when it is locked. With the account, so every instance agrees.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_since TEXT;
ALTER TABLE users ADD COLUMN locked_until TEXT;
