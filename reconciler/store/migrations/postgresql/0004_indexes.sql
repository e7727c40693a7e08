-- Nothing to do here: PostgreSQL has had these indexes since 0001. SQLite's
-- 0004 adds them; this one keeps the two dialects at the same schema version,
-- so that a version names one schema whatever the backend. IF NOT EXISTS
-- makes it a no-op on every store that 0001 made.
CREATE INDEX IF NOT EXISTS coordinators_by_email ON coordinators (email);
CREATE INDEX IF NOT EXISTS serials_by_coordinator ON serials (contract, coordinator);
