-- Classification (issue #4): keyword rules an admin edits per category (or marking
-- police matters), and how the model's labels map to categories. A new city without
-- a model runs on the rules alone.
CREATE TABLE classification_rules (
    id          INTEGER PRIMARY KEY,
    -- the terms that must all appear, folded (lower case, half-width), space-separated
    terms       TEXT NOT NULL,
    -- the category it suggests; NULL for a police rule
    category_id INTEGER REFERENCES categories(id),
    police      BOOLEAN NOT NULL DEFAULT FALSE,
    -- fill | override (zhili_domain::RuleMode)
    mode        TEXT NOT NULL,
    note        TEXT,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE classifier_labels (
    label       TEXT PRIMARY KEY,
    -- NULL with police = FALSE: the label is ignored
    category_id INTEGER REFERENCES categories(id),
    police      BOOLEAN NOT NULL DEFAULT FALSE,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
