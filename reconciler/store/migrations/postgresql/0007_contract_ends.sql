-- ends: "2027-03-31" in the YAML: the last day of a contract, or NULL when the
-- YAML says none. A DATE, so the database refuses a day the calendar lacks;
-- the snapshot reads it back as the same ISO 8601 text (YYYY-MM-DD). (A DATE
-- also reads 2027-3-31 as 2027-03-31; validate lets only YYYY-MM-DD through.)
ALTER TABLE contracts ADD COLUMN ends DATE;
