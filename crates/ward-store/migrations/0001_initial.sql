-- ward's schema, version 1. One text for SQLite and PostgreSQL: integer times are Unix
-- microseconds, JSON documents are text, booleans are BOOLEAN (an integer in SQLite).

-- Each distinct ward.toml ever loaded; the newest generation is the one in force.
CREATE TABLE policies (
    generation BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    source TEXT NOT NULL,
    loaded_at_us BIGINT NOT NULL
);

-- One row per child: the core's ChildDocument as JSON, the policy generation it follows,
-- and a version that grows with every write.
CREATE TABLE children (
    id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    version BIGINT NOT NULL,
    doc TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL
);
CREATE INDEX children_generation ON children (generation);

-- Interventions shown, acknowledged by id until they expire.
CREATE TABLE interventions (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    expires_at_us BIGINT NOT NULL
);
CREATE INDEX interventions_child ON interventions (child_id);
CREATE INDEX interventions_expiry ON interventions (expires_at_us);

-- Parental consent requests and where they stand.
CREATE TABLE consent_requests (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    requested_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    answered_by TEXT
);
CREATE INDEX consent_requests_child ON consent_requests (child_id);
CREATE INDEX consent_requests_pending ON consent_requests (status, expires_at_us);

-- The append-only, hash-chained ledger (see ledger.rs).
CREATE TABLE ledger (
    seq BIGINT PRIMARY KEY,
    at_us BIGINT NOT NULL,
    child_id TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    erased BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX ledger_child ON ledger (child_id);

-- API keys: only the SHA-256 of each token's secret part is kept.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    scope TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT
);

-- Counters other processes poll to notice changes (SQLite has no NOTIFY).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('keys', 0);
