-- R8, a serial never has more users than seats, kept by a count instead of
-- counting: each serial holds how many users it has (`assigned`). The
-- triggers on access keep it once per statement, from the statement's
-- transition tables: a COPY or a multi-row statement moves each serial's
-- count once, by the number of its rows. The constraint triggers of 0001
-- counted a serial's access for every row inserted, which cost seconds at
-- 300,000 grants. Transition tables take one event per trigger and no column
-- list, hence a trigger per event; an UPDATE that moves no grant to another
-- serial (a change of e-mail, of download) changes no count. TRUNCATE fires
-- no DELETE trigger, so it has one of its own.
--
-- The rule itself is checked on serials, as a count or the seats change, by
-- a constraint trigger that stays as 0001 made it: after each statement,
-- DEFERRABLE INITIALLY IMMEDIATE, 'seats exceeded' with the serial named. Its
-- WHEN skips every row within its seats, so only a serial over them costs a
-- call. The functions name the tables unqualified: they are the store's, on
-- the search_path, whatever schema it is in.
DROP TRIGGER access_within_seats ON access;
DROP FUNCTION access_within_seats();
DROP TRIGGER seats_cover_access ON serials;

ALTER TABLE serials ADD COLUMN assigned INTEGER NOT NULL DEFAULT 0;
UPDATE serials s SET assigned = n.users
    FROM (SELECT serial, count(*) AS users FROM access GROUP BY serial) n
    WHERE s.number = n.serial;

CREATE FUNCTION access_counted_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE serials s SET assigned = s.assigned + n.added
        FROM (SELECT serial, count(*) AS added FROM inserted GROUP BY serial) n
        WHERE s.number = n.serial;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_counted_on_insert AFTER INSERT ON access
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION access_counted_on_insert();

CREATE FUNCTION access_counted_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE serials s SET assigned = s.assigned - n.removed
        FROM (SELECT serial, count(*) AS removed FROM deleted GROUP BY serial) n
        WHERE s.number = n.serial;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_counted_on_delete AFTER DELETE ON access
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION access_counted_on_delete();

CREATE FUNCTION access_counted_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE serials s SET assigned = s.assigned + n.moved
        FROM (SELECT serial, sum(change) AS moved
              FROM (SELECT serial, 1 AS change FROM updated
                    UNION ALL SELECT serial, -1 FROM before_update) AS changes
              GROUP BY serial HAVING sum(change) <> 0) n
        WHERE s.number = n.serial;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_counted_on_update AFTER UPDATE ON access
    REFERENCING OLD TABLE AS before_update NEW TABLE AS updated
    FOR EACH STATEMENT EXECUTE FUNCTION access_counted_on_update();

CREATE FUNCTION access_counted_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE serials SET assigned = 0 WHERE assigned <> 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER access_counted_on_truncate AFTER TRUNCATE ON access
    FOR EACH STATEMENT EXECUTE FUNCTION access_counted_on_truncate();

-- Deferred (SET CONSTRAINTS seats_cover_access DEFERRED), it runs at commit,
-- when the serial may be back within its seats: it reads the row as it is then.
CREATE OR REPLACE FUNCTION seats_cover_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT assigned > seats FROM serials WHERE number = NEW.number) THEN
        RAISE EXCEPTION 'seats exceeded' USING ERRCODE = 'check_violation',
            DETAIL = format('serial %s has more users than seats', NEW.number);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER seats_cover_access AFTER UPDATE OF seats, assigned ON serials
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW WHEN (NEW.assigned > NEW.seats) EXECUTE FUNCTION seats_cover_access();
