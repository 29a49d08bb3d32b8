-- The tenant Merkle trees (tlog.Storage) and the shared secrets.
--
-- A log's leaves are its rows in events. The tree over them is built after
-- commit by the sequencer (tlog.Integrate), which stores the hash of every
-- complete subtree in tree_nodes and moves the log's head in tree_heads by
-- compare-and-set, both in one transaction. A log without a tree_heads row
-- has the empty tree.

-- +goose Up
CREATE TABLE tree_heads (
    log  TEXT PRIMARY KEY, -- a tenant id, or 'system'
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32)
) STRICT, WITHOUT ROWID;

-- The hash of the complete subtree (level, idx), which covers the leaves
-- [idx << level, (idx + 1) << level); level 0 holds the leaf hashes. Nodes
-- are never changed or removed: checkpoints signed over them are forever.
CREATE TABLE tree_nodes (
    log   TEXT NOT NULL,
    level INTEGER NOT NULL CHECK (level >= 0),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log, level, idx)
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER tree_nodes_no_update BEFORE UPDATE ON tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'tree nodes are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tree_nodes_no_delete BEFORE DELETE ON tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'tree nodes are append-only');
END;
-- +goose StatementEnd

-- Secrets such as the log signing key, changed by compare-and-set on
-- version. Values are stored as given (callers encrypt them); the database
-- file is created readable by its owner only.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    version    INTEGER NOT NULL CHECK (version > 0),
    updated_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE secrets;
DROP TABLE tree_nodes;
DROP TABLE tree_heads;
