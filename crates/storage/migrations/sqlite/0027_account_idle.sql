-- Accounts unused for a while are disabled (SECURITY.md IA-13): the time of each
-- account's last login, from the sessions still kept, else now, so that an upgrade
-- gives every account the whole period before its first check.
ALTER TABLE users ADD COLUMN last_login_at TEXT;
UPDATE users SET last_login_at = COALESCE(
    (SELECT MAX(s.created_at) FROM sessions s WHERE s.user_id = users.id),
    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
