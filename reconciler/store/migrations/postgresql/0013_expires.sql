-- expires: "2027-03-31" in the YAML: the last day a user is in the account
-- (users), a user's own grant lasts (access; NULL where the user has no grant
-- of their own, only their teams'), or a user is in a team (team_members); NULL
-- for good. A DATE, as contracts.ends (0007): the database refuses a day the
-- calendar lacks, and the snapshot reads it back as ISO 8601 text.
ALTER TABLE users ADD COLUMN expires DATE;
ALTER TABLE team_members ADD COLUMN expires DATE;

-- access's key index holds what a snapshot reads of each grant (0008), so the
-- snapshot reads access from the index alone: it holds the date too.
ALTER TABLE access ADD COLUMN expires DATE;
ALTER TABLE access
    DROP CONSTRAINT access_pkey,
    ADD CONSTRAINT access_pkey PRIMARY KEY (user_email, serial) INCLUDE (download, direct_download, expires);
