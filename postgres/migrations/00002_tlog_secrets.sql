-- The tenant Merkle trees (tlog.Storage) and the shared secrets, the
-- PostgreSQL twin of sqlite/migrations/00002_tlog_secrets.sql.
--
-- A log's leaves are its rows in events. The tree over them is built after
-- commit by the sequencer (tlog.Integrate), which stores the hash of every
-- complete subtree in tree_nodes and moves the log's head in tree_heads by
-- compare-and-set, both in one transaction. A log without a tree_heads row
-- has the empty tree.
--
-- The integrated head is not a column of log_heads: AppendEvent writes its
-- log's log_heads row in every transaction that appends, so a sequencer
-- writing that row would make appenders fail their first-updater-wins check
-- (and wait for them). tree_heads is written by sequencers only.

-- +goose Up
CREATE TABLE tree_heads (
    log  text PRIMARY KEY, -- a tenant id, or 'system'
    size bigint NOT NULL CHECK (size >= 0),
    root bytea NOT NULL CHECK (octet_length(root) = 32)
);

-- The hash of the complete subtree (level, idx), which covers the leaves
-- [idx << level, (idx + 1) << level); level 0 holds the leaf hashes. Nodes
-- are never changed or removed: checkpoints signed over them are forever.
CREATE TABLE tree_nodes (
    log   text NOT NULL,
    level integer NOT NULL CHECK (level >= 0),
    idx   bigint NOT NULL CHECK (idx >= 0),
    hash  bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (log, level, idx)
);

CREATE TRIGGER tree_nodes_append_only BEFORE UPDATE OR DELETE ON tree_nodes
    FOR EACH ROW EXECUTE FUNCTION lockbox_append_only();
CREATE TRIGGER tree_nodes_no_truncate BEFORE TRUNCATE ON tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_append_only();

-- Secrets such as the log signing key, which every replica must share,
-- changed by compare-and-set on version. Values are stored as given: callers
-- encrypt them.
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE tree_nodes;
DROP TABLE tree_heads;
