-- The account, as the YAML declares it, plus what only the store knows.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE resellers (
    email TEXT PRIMARY KEY
);

CREATE TABLE users (
    email      TEXT PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('invited', 'active')),
    added_at   TEXT NOT NULL
);

CREATE TABLE contracts (
    number  TEXT PRIMARY KEY,
    manager TEXT NOT NULL REFERENCES users (email)
);

CREATE TABLE coordinators (
    contract         TEXT NOT NULL REFERENCES contracts (number),
    email            TEXT NOT NULL REFERENCES users (email),
    manage_users     INTEGER NOT NULL CHECK (manage_users IN (0, 1)),
    shipping_name    TEXT,
    shipping_address TEXT,
    shipping_country TEXT,
    PRIMARY KEY (contract, email)
);

CREATE TABLE serials (
    number      TEXT PRIMARY KEY,
    contract    TEXT NOT NULL REFERENCES contracts (number),
    product     TEXT NOT NULL,
    seats       INTEGER NOT NULL CHECK (seats >= 1),
    group_name  TEXT,
    coordinator TEXT,
    FOREIGN KEY (contract, coordinator) REFERENCES coordinators (contract, email)
);
CREATE INDEX serials_by_contract ON serials (contract);

CREATE TABLE access (
    user_email TEXT NOT NULL REFERENCES users (email),
    serial     TEXT NOT NULL REFERENCES serials (number),
    download   INTEGER NOT NULL CHECK (download IN (0, 1)),
    PRIMARY KEY (user_email, serial)
);
CREATE INDEX access_by_serial ON access (serial);

-- R8 in the database too: a serial never has more users than seats, at any
-- point of a transaction, so a plan in the wrong order fails loudly.
CREATE TRIGGER access_within_seats AFTER INSERT ON access
WHEN (SELECT COUNT(*) FROM access WHERE serial = NEW.serial)
   > (SELECT seats FROM serials WHERE number = NEW.serial)
BEGIN
    SELECT RAISE(ABORT, 'seats exceeded');
END;

CREATE TRIGGER seats_cover_access AFTER UPDATE OF seats ON serials
WHEN (SELECT COUNT(*) FROM access WHERE serial = NEW.number) > NEW.seats
BEGIN
    SELECT RAISE(ABORT, 'seats exceeded');
END;

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    revision INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    target   TEXT NOT NULL,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_log_by_revision ON audit_log (revision);
