-- KPIs and assessment (O4, O5). Residents per area for participation per 10,000,
-- survey results (知晓率, 参与率) imported per area and month, and the assessment
-- schemes with their weighted indicators (JSON, checked by zhili_domain::kpi).
CREATE TABLE area_population (
    org_id     INTEGER PRIMARY KEY REFERENCES orgs(id),
    residents  INTEGER NOT NULL CHECK (residents >= 0),
    updated_at TEXT NOT NULL
);

CREATE TABLE survey_results (
    org_id       INTEGER NOT NULL REFERENCES orgs(id),
    -- YYYY-MM
    month        TEXT NOT NULL,
    respondents  INTEGER NOT NULL CHECK (respondents >= 0),
    aware        INTEGER NOT NULL CHECK (aware >= 0),
    participated INTEGER NOT NULL CHECK (participated >= 0),
    imported_at  TEXT NOT NULL,
    imported_by  INTEGER REFERENCES users(id),
    PRIMARY KEY (org_id, month)
);

CREATE TABLE assessment_schemes (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    assessed    TEXT NOT NULL,
    indicators  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  INTEGER REFERENCES users(id)
);
