-- The command centre (issue #6): its map asks for the events changed since its last
-- poll, every few seconds from every open screen.
CREATE INDEX events_updated_at ON events(updated_at);
