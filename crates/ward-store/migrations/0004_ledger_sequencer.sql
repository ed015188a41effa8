-- The ledger without a lock across commits, and its checkpoint key (version 4).
--
-- Each entry now has an id of its own, given when its change commits (alerts and webhook
-- deliveries carry it as `ward-<id>`), and a chain position `seq` with its hashes, given
-- when it is chained: in the same transaction on SQLite (one writer), by the sequencer
-- within milliseconds on PostgreSQL (see ledger.rs). Entries written before keep id = seq.
CREATE TABLE ledger_v4 (
    id BIGINT PRIMARY KEY,
    seq BIGINT UNIQUE,
    at_us BIGINT NOT NULL,
    child_id TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    prev_hash TEXT,
    entry_hash TEXT,
    erased BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO ledger_v4 (id, seq, at_us, child_id, kind, payload, payload_hash, prev_hash,
    entry_hash, erased)
    SELECT seq, seq, at_us, child_id, kind, payload, payload_hash, prev_hash, entry_hash, erased
    FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_v4 RENAME TO ledger;
CREATE INDEX ledger_child ON ledger (child_id);
-- What the sequencer has still to chain.
CREATE INDEX ledger_unchained ON ledger (id) WHERE seq IS NULL;

-- The Ed25519 key ward signs ledger checkpoints with: one per database, made on first use.
CREATE TABLE ledger_keys (
    name TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    secret_key TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);
