-- access's key index also holds each grant's two flags, so a snapshot, which
-- reads access in key order (by user, then serial), reads it from the index
-- alone and not each row from the table, where rows lie as applies wrote them
-- (serial by serial). An index-only scan skips the table once vacuum has marked
-- its pages all-visible, which autovacuum does after inserts. SQLite's 0008
-- stores the table itself in key order.
ALTER TABLE access
    DROP CONSTRAINT access_pkey,
    ADD CONSTRAINT access_pkey PRIMARY KEY (user_email, serial) INCLUDE (download, direct_download);
