-- Working-day calendar years loaded by an administrator (zhili calendar load), on
-- top of the years shipped in the binary. The JSON is zhili_calendar::YearData.
CREATE TABLE calendar_years (
    year      BIGINT PRIMARY KEY,
    data      TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    loaded_by TEXT NOT NULL
);
