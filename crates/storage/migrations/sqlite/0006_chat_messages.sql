-- Chat groups (圈群, D1): messages forwarded from each grid's WeChat group are kept as
-- messages; chit-chat is never an event. An operator promotes one into an event
-- (linked back through event_id) or dismisses it. Kept in step with
-- ../postgres/0006_chat_messages.sql.

-- Which area a chat group belongs to, registered by an operator (PUT
-- /api/v1/chat/groups/{group_id}). A township-wide group has no grid.
CREATE TABLE chat_groups (
    group_id    TEXT PRIMARY KEY,
    township_id INTEGER NOT NULL REFERENCES orgs(id),
    grid_id     INTEGER REFERENCES orgs(id),
    updated_at  TEXT NOT NULL,
    updated_by  INTEGER REFERENCES users(id)
);

CREATE TABLE chat_messages (
    id           INTEGER PRIMARY KEY,
    -- the chat system's ids; together the idempotency key of the webhook
    group_id     TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    group_name   TEXT NOT NULL,
    -- copied from chat_groups when the message arrives (or when the group is
    -- registered later); NULL while the group is unknown: then only the city sees it
    township_id  INTEGER REFERENCES orgs(id),
    grid_id      INTEGER REFERENCES orgs(id),
    sender_name  TEXT NOT NULL,
    sender_phone TEXT,
    text         TEXT NOT NULL,
    -- JSON array of image URLs or attachment references
    images       TEXT NOT NULL,
    sent_at      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    -- the integration account that forwarded it
    received_by  INTEGER REFERENCES users(id),
    -- new / promoted / dismissed
    status       TEXT NOT NULL,
    event_id     INTEGER REFERENCES events(id),
    handled_by   INTEGER REFERENCES users(id),
    handled_at   TEXT,
    CONSTRAINT chat_messages_group_message UNIQUE (group_id, message_id)
);
CREATE INDEX chat_messages_township ON chat_messages(township_id, status, sent_at);
CREATE INDEX chat_messages_grid ON chat_messages(grid_id, status, sent_at);
CREATE INDEX chat_messages_status ON chat_messages(status, sent_at);
