-- A child's reports, for the service's moderators (version 5). The child's document holds
-- each report too (what the child's page shows); this table, written in the same
-- transaction, is what lists them across children: the open ones, the overdue ones, and
-- the times to acknowledge and resolve.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    due_at_us BIGINT NOT NULL,
    acknowledged_at_us BIGINT,
    resolved_at_us BIGINT,
    overdue_alerted BOOLEAN NOT NULL
);
CREATE INDEX reports_due ON reports (status, overdue_alerted, due_at_us);
CREATE INDEX reports_child ON reports (child_id);
CREATE INDEX reports_created ON reports (created_at_us);
