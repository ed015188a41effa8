-- Drift states shared by every node (version 6): each write of a child's drift state moves
-- its version on, so a node writes only over the state it read (compare and set) and a
-- child's feeds served by several nodes share one window.
ALTER TABLE drift ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
