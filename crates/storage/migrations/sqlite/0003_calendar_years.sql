-- Working-day calendar years loaded by an administrator (zhili calendar load), on
-- top of the years shipped in the binary. The JSON is zhili_calendar::YearData.
CREATE TABLE calendar_years (
    year      INTEGER PRIMARY KEY,
    data      TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    loaded_by TEXT NOT NULL
);
