-- Nothing to change: SQLite's 0008 stores access in its key's order, which
-- PostgreSQL's tables have no lasting form of (CLUSTER orders a table once).
-- The number keeps both dialects at one schema version.
SELECT 1;
