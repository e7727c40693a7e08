-- The indexes PostgreSQL has had since 0001 and SQLite lacked: finding a
-- user's coordinator roles (as a user is removed, and the foreign key from
-- coordinators to users is checked), and the serials a coordinator is given
-- (as a coordinator is removed, and the foreign key from serials is checked).
CREATE INDEX IF NOT EXISTS coordinators_by_email ON coordinators (email);
CREATE INDEX IF NOT EXISTS serials_by_coordinator ON serials (contract, coordinator);
