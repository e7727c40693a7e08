-- The account, as the YAML declares it, plus what only the store knows.
-- The same tables as sqlite/0001_initial.sql, so both stores read and write
-- with the same statements (store/statements.py).
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
    manage_users     BOOLEAN NOT NULL,
    shipping_name    TEXT,
    shipping_address TEXT,
    shipping_country TEXT,
    PRIMARY KEY (contract, email)
);
CREATE INDEX coordinators_by_email ON coordinators (email);

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
CREATE INDEX serials_by_coordinator ON serials (contract, coordinator);

CREATE TABLE access (
    user_email TEXT NOT NULL REFERENCES users (email),
    serial     TEXT NOT NULL REFERENCES serials (number),
    download   BOOLEAN NOT NULL,
    PRIMARY KEY (user_email, serial)
);
CREATE INDEX access_by_serial ON access (serial);

-- R8 in the database too: a serial never has more users than seats, so a
-- plan in the wrong order fails loudly. SQLite checks after each row; these
-- constraint triggers check after each statement (one row each, but for a
-- bulk load, where a count that only grows is over at the end if it ever
-- was), so the same plan order passes or fails on both. They are
-- DEFERRABLE INITIALLY IMMEDIATE: immediate like SQLite's, and a session
-- that must move seats around in a batch can SET CONSTRAINTS … DEFERRED.
CREATE FUNCTION access_within_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM access WHERE serial = NEW.serial)
       > (SELECT seats FROM serials WHERE number = NEW.serial) THEN
        RAISE EXCEPTION 'seats exceeded' USING ERRCODE = 'check_violation',
            DETAIL = format('serial %s has more users than seats', NEW.serial);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER access_within_seats AFTER INSERT ON access
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW EXECUTE FUNCTION access_within_seats();

CREATE FUNCTION seats_cover_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM access WHERE serial = NEW.number) > NEW.seats THEN
        RAISE EXCEPTION 'seats exceeded' USING ERRCODE = 'check_violation',
            DETAIL = format('serial %s has more users than seats', NEW.number);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER seats_cover_access AFTER UPDATE OF seats ON serials
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW EXECUTE FUNCTION seats_cover_access();

CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    target   TEXT NOT NULL,
    before   TEXT,
    after    TEXT
);
CREATE INDEX audit_log_by_revision ON audit_log (revision);

-- Who holds the apply lock (an advisory lock keyed by the store's lineage,
-- which says nothing of its holder). Written, committed, while the lock is
-- held; a row whose backend no longer holds the lock is stale and ignored.
CREATE TABLE apply_lock (
    lock_key    BIGINT PRIMARY KEY,
    backend_pid INTEGER NOT NULL,
    pid         INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    host        TEXT NOT NULL,
    command     TEXT NOT NULL,
    since       TEXT NOT NULL
);
