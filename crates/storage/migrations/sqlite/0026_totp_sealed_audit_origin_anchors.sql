-- TOTP secrets are sealed at rest like the other personal data (storage/src/pii.rs,
-- Field::TotpSecret / TotpPending). The pass that seals values stored in plain text
-- runs at unlock while sealed_at is empty: cleared here so that it runs once more
-- and seals the secrets bound before this version.
UPDATE pii_keys SET sealed_at = NULL;
