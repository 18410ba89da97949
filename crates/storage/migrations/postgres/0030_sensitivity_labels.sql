-- Sensitivity labels (SECURITY.md AC-08, PI-09): 普通 or 敏感, set from keywords at
-- intake and by a command room by hand, with the reason for the last setting. Roles
-- without clearance do not see sensitive events; the public never does.
ALTER TABLE events ADD COLUMN sensitivity TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE events ADD COLUMN sensitivity_reason TEXT;
