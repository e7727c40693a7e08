-- expires: "2027-03-31" in the YAML: the last day a user is in the account
-- (users), a user's own grant lasts (access; NULL where the user has no grant
-- of their own, only their teams'), or a user is in a team (team_members); NULL
-- for good. ISO 8601 text (YYYY-MM-DD, which sorts as the days do), as
-- contracts.ends (0007): the check refuses a day the calendar lacks. access
-- stays in key order (0008): a WITHOUT ROWID table keeps a new column in its
-- rows, so a snapshot still reads it in one pass.
ALTER TABLE users ADD COLUMN expires TEXT CHECK (expires IS NULL OR date(expires, '+0 days') IS expires);
ALTER TABLE access ADD COLUMN expires TEXT CHECK (expires IS NULL OR date(expires, '+0 days') IS expires);
ALTER TABLE team_members ADD COLUMN expires TEXT CHECK (expires IS NULL OR date(expires, '+0 days') IS expires);
