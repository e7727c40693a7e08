-- protect: true in the YAML, kept in the store: while set, a plan that removes
-- the contract, serial or user is blocked (as Terraform's prevent_destroy).
ALTER TABLE contracts ADD COLUMN protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1));
ALTER TABLE serials ADD COLUMN protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1));
ALTER TABLE users ADD COLUMN protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1));
