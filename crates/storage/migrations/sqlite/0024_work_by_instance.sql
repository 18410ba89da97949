-- Which instance did the background work (issue #7, item 7): several `zhili serve`
-- share the outbox and the deadline sweep, and after a crash or a double delivery
-- the operator (and the several-instances test) must see who settled what. The
-- lease owner is cleared on delivery, so the deliverer is kept apart.
ALTER TABLE outbox ADD COLUMN delivered_by TEXT;
ALTER TABLE deadline_alerts ADD COLUMN fired_by TEXT;
