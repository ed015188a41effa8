-- Parental controls: alerts and their delivery, and drift states (version 3).

-- One row per alert per linked parent, keyed by the ledger entry that caused it, so a
-- parent's stream resumes from any `Last-Event-ID` it saw.
CREATE TABLE alerts (
    parent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    child_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (parent_id, seq)
);
CREATE INDEX alerts_child ON alerts (child_id);

-- The service's webhook endpoints. The secret is kept as given: ward signs with it.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    disabled_at_us BIGINT
);

-- Every alert for every endpoint, written with its cause, delivered at least once.
CREATE TABLE outbox (
    webhook_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    child_id TEXT,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at_us BIGINT NOT NULL,
    delivered_at_us BIGINT,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, seq)
);
CREATE INDEX outbox_due ON outbox (delivered_at_us, next_attempt_at_us);
CREATE INDEX outbox_child ON outbox (child_id);

-- Each delivery attempt, for the admin's delivery log.
CREATE TABLE deliveries (
    webhook_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    child_id TEXT,
    at_us BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    delivered BOOLEAN NOT NULL,
    PRIMARY KEY (webhook_id, seq, attempt)
);
CREATE INDEX deliveries_at ON deliveries (at_us);

-- Each child's feed-guard drift state (the anchor topic mix and the recent window), written
-- behind the hot path.
CREATE TABLE drift (
    child_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL
);
