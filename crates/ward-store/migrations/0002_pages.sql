-- ward's schema, version 2: what the pages need. Same conventions as 0001 (Unix microseconds,
-- one text for SQLite and PostgreSQL).

-- Which children each parent is linked to: an index derived from the children's documents
-- (their `parents`), rewritten inside the same transaction as every child write that changes
-- them, so it is never behind the document. The document stays the truth: readers check it.
CREATE TABLE parent_links (
    parent_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX parent_links_child ON parent_links (child_id);
-- Children stored before this table existed are indexed once, by the first node to start
-- (see `backfill_parent_links`); this marker says whether that has happened.
INSERT INTO counters (name, value) VALUES ('parent_links_backfilled', 0);

-- One-time links into the pages: a child's page link or a parent's sign-in link. Only the
-- SHA-256 of the token is kept; a link is used once (used_at_us) and expires.
CREATE TABLE page_links (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    used_at_us BIGINT
);
CREATE INDEX page_links_subject ON page_links (kind, subject);
CREATE INDEX page_links_expiry ON page_links (expires_at_us);

-- Signed-in page sessions, by the SHA-256 of the cookie's token.
CREATE TABLE page_sessions (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL
);
CREATE INDEX page_sessions_subject ON page_sessions (kind, subject);
CREATE INDEX page_sessions_expiry ON page_sessions (expires_at_us);
