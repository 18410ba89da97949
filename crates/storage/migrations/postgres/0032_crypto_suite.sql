-- The algorithm suite a database's field keys work with (SECURITY.md DC-05):
-- 'standard' (AES-256-GCM, HMAC-SHA256) or 'sm' (SM4-GCM, HMAC-SM3), chosen when
-- the keys are made. Databases from before are standard.
ALTER TABLE pii_keys ADD COLUMN suite TEXT NOT NULL DEFAULT 'standard';
