-- access, stored in the order a snapshot reads it: by user, then serial. A
-- WITHOUT ROWID table is kept in its primary key's order; before, the rows lay
-- as applies wrote them (serial by serial) and reading them by user through the
-- key's index visited the table's pages out of order. The seats triggers and
-- the index by serial are as 0001 made them; the trigger on serials names
-- access, so it goes while the table is rebuilt.
DROP TRIGGER seats_cover_access;

CREATE TABLE access_by_user (
    user_email      TEXT NOT NULL REFERENCES users (email),
    serial          TEXT NOT NULL REFERENCES serials (number),
    download        INTEGER NOT NULL CHECK (download IN (0, 1)),
    direct_download INTEGER CHECK (direct_download IN (0, 1)),
    PRIMARY KEY (user_email, serial)
) WITHOUT ROWID;
INSERT INTO access_by_user (user_email, serial, download, direct_download)
    SELECT user_email, serial, download, direct_download FROM access ORDER BY user_email, serial;
DROP TABLE access;
ALTER TABLE access_by_user RENAME TO access;
CREATE INDEX access_by_serial ON access (serial);

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
