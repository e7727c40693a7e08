-- Teams: a team gives each of its members access to serials (as a directory
-- group does). `access` keeps each user's effective access, what the seats
-- triggers count; `direct_download` is the user's own grant beside it, NULL
-- where the access comes from teams alone. Existing grants are all direct.
ALTER TABLE access ADD COLUMN direct_download BOOLEAN;
UPDATE access SET direct_download = download;

CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    description TEXT
);

CREATE TABLE team_members (
    team       TEXT NOT NULL REFERENCES teams (name),
    user_email TEXT NOT NULL REFERENCES users (email),
    PRIMARY KEY (team, user_email)
);
CREATE INDEX team_members_by_user ON team_members (user_email);

CREATE TABLE team_access (
    team     TEXT NOT NULL REFERENCES teams (name),
    serial   TEXT NOT NULL REFERENCES serials (number),
    download BOOLEAN NOT NULL,
    PRIMARY KEY (team, serial)
);
CREATE INDEX team_access_by_serial ON team_access (serial);
