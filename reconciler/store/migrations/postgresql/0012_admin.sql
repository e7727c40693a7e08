-- The questions an admin asks every day (users show, history --user, requests).
--
-- subject: whom an audit entry concerns (the target's user or coordinator; a
-- contract's new manager; the coordinator a serial is given or taken from),
-- indexed, so one person's history is a few rows read, not the whole log.
ALTER TABLE audit_log ADD COLUMN subject TEXT;
UPDATE audit_log SET subject = COALESCE(
    target::jsonb ->> 'user',
    target::jsonb ->> 'coordinator',
    CASE
        WHEN kind IN ('contract.create', 'contract.manager_change') THEN after::jsonb ->> 'manager'
        WHEN kind = 'serial.assign_coordinator' THEN after::jsonb ->> 'coordinator'
        WHEN kind = 'serial.unassign_coordinator' THEN before::jsonb ->> 'coordinator'
    END
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, id) WHERE subject IS NOT NULL;

-- Where each apply came from (commit, pull request, CI run, what the person
-- applying said), as JSON; only revisions whose source is known have a row.
CREATE TABLE sources (
    revision INTEGER PRIMARY KEY,
    source   TEXT NOT NULL
);

-- A request stays open until a later apply makes the change (applied) or
-- makes it moot (removes its target, or changes it otherwise).
ALTER TABLE requests ADD COLUMN outcome TEXT CHECK (outcome IN ('applied', 'moot'));
ALTER TABLE requests ADD COLUMN closed_revision INTEGER;
ALTER TABLE requests ADD COLUMN closed_at TEXT;
CREATE INDEX requests_open ON requests (requested_at) WHERE outcome IS NULL;
