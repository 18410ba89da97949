-- The duplicate candidates of a new event (storage/src/duplicates.rs): one category,
-- a small box around the point, a window of days. Indexed by category and longitude
-- the query reads a strip a few hundred metres wide instead of every event of the
-- category in the window; the rest of the condition is checked in the index. The
-- index by category and time goes, as on SQLite (see the SQLite migration).
DROP INDEX IF EXISTS events_category_reported;
CREATE INDEX events_category_place ON events(category_id, lon, lat, reported_at, status, duplicate_of);
