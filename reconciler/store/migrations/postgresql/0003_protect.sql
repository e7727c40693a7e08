-- protect: true in the YAML, kept in the store: while set, a plan that removes
-- the contract, serial or user is blocked (as Terraform's prevent_destroy).
ALTER TABLE contracts ADD COLUMN protected BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE serials ADD COLUMN protected BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN protected BOOLEAN NOT NULL DEFAULT false;
