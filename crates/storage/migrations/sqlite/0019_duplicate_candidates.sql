-- The duplicate candidates of a new event (storage/src/duplicates.rs): one category,
-- a small box around the point, a window of days. Indexed by category and time, the
-- query read every event of the category in the window, which grows with the intake
-- (a busy category has hundreds a day); by category and longitude it reads a strip a
-- few hundred metres wide, and the rest of the condition is checked in the index.
-- Without statistics SQLite would keep choosing the time index for its ORDER BY, so it
-- goes; a category filter on the event list is served by the new one as well.
DROP INDEX IF EXISTS events_category_reported;
CREATE INDEX events_category_place ON events(category_id, lon, lat, reported_at, status, duplicate_of);
