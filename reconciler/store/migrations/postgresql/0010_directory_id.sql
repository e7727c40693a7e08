-- directory_id: the user's immutable id in the company directory (entryUUID,
-- objectGUID), which `directory pull` writes as `id`. A user keeps it when the
-- directory changes their e-mail, so the plan moves them to the new address
-- instead of removing one person and inviting another. NULL for users who come
-- from no directory; no two users share one.
ALTER TABLE users ADD COLUMN directory_id TEXT;
CREATE UNIQUE INDEX users_by_directory_id ON users (directory_id) WHERE directory_id IS NOT NULL;
