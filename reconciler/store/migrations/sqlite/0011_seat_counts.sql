-- R8, a serial never has more users than seats, kept by a count instead of
-- counting: each serial holds how many users it has (`assigned`), which the
-- triggers on access keep, one row's change at a time, as a grant is made,
-- revoked or moved to another serial. A change of e-mail (an UPDATE of
-- user_email) touches no count. The triggers of 0001 and 0008 counted a
-- serial's access on every insert, which cost seconds at 300,000 grants.
--
-- The rule itself is checked on serials, as a count or the seats change: an
-- insert past the seats, or seats cut below the users, is refused with
-- 'seats exceeded', as before. SQLite checks each row, which for a statement
-- whose counts only grow is the verdict PostgreSQL's check after each
-- statement gives. (INSERT OR REPLACE, which the store never runs on access,
-- deletes the row it replaces without firing the DELETE trigger, unless
-- PRAGMA recursive_triggers is on: its count would be one too many.)
DROP TRIGGER access_within_seats;
DROP TRIGGER seats_cover_access;

ALTER TABLE serials ADD COLUMN assigned INTEGER NOT NULL DEFAULT 0;
UPDATE serials SET assigned = (SELECT COUNT(*) FROM access WHERE access.serial = serials.number);

CREATE TRIGGER access_counted_on_insert AFTER INSERT ON access
BEGIN
    UPDATE serials SET assigned = assigned + 1 WHERE number = NEW.serial;
END;

CREATE TRIGGER access_counted_on_delete AFTER DELETE ON access
BEGIN
    UPDATE serials SET assigned = assigned - 1 WHERE number = OLD.serial;
END;

CREATE TRIGGER access_counted_on_update AFTER UPDATE OF serial ON access
WHEN NEW.serial IS NOT OLD.serial
BEGIN
    UPDATE serials SET assigned = assigned - 1 WHERE number = OLD.serial;
    UPDATE serials SET assigned = assigned + 1 WHERE number = NEW.serial;
END;

CREATE TRIGGER seats_cover_access AFTER UPDATE OF seats, assigned ON serials
WHEN NEW.assigned > NEW.seats
BEGIN
    SELECT RAISE(ABORT, 'seats exceeded');
END;
