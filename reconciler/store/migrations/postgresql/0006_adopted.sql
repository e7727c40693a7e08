-- apply --adopt: an account brought under git records what was already there,
-- without inviting anyone. Each audit entry says whether it was adopted (the
-- record existed before the store knew of it) or applied (the store made it).
ALTER TABLE audit_log ADD COLUMN adopted BOOLEAN NOT NULL DEFAULT FALSE;
