-- PostgreSQL only, after 0004_ledger_sequencer.sql: entry ids come from a sequence, so a
-- commit takes one without waiting for any other (SQLite's one writer numbers them itself).
CREATE SEQUENCE ledger_ids;
SELECT setval('ledger_ids', COALESCE((SELECT MAX(id) FROM ledger), 0) + 1, false);
