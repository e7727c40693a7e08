-- ends: "2027-03-31" in the YAML: the last day of a contract, as ISO 8601 text
-- (YYYY-MM-DD, which sorts as the days do), or NULL when the YAML says none.
-- The check refuses a day the calendar lacks: date() rolls 2027-02-30 over to
-- 2027-03-02 once a modifier makes it normalise.
ALTER TABLE contracts ADD COLUMN ends TEXT CHECK (ends IS NULL OR date(ends, '+0 days') IS ends);
