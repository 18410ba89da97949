-- Deadlines, computed in Chinese working days when an event comes in and when its
-- time limit changes (an approved extension). `deadline_estimated` marks deadlines
-- that fell in a year whose holidays were not loaded yet (counted Monday–Friday).
ALTER TABLE events ADD COLUMN handle_due_at TIMESTAMPTZ;
ALTER TABLE events ADD COLUMN feedback_due_at TIMESTAMPTZ;
ALTER TABLE events ADD COLUMN deadline_estimated BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX events_handle_due ON events(handle_due_at);
