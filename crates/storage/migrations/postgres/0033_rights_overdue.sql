-- When the command room was reminded of a reporter's request past its deadline
-- (SECURITY.md PI-08): once per request, by whichever instance's sweep is first.
ALTER TABLE rights_requests ADD COLUMN overdue_notified_at TIMESTAMPTZ;
