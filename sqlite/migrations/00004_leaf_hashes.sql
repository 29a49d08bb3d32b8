-- Leaf hashes live with their leaves.
--
-- The writer stores each event's RFC 6962 leaf hash, SHA-256(0x00 || leaf),
-- in the row it appends; the sequencer no longer writes level-0 rows into
-- tree_nodes, which halves the rows it writes per event. The stored hash is
-- the log's own record of what it logged at that index: a leaf changed
-- afterwards no longer matches it, and proofs (served from the stored
-- hashes) keep pinning the changed entry itself. Events appended before
-- this migration have no leaf_hash: their level-0 nodes are in tree_nodes.

-- +goose Up
ALTER TABLE events ADD COLUMN leaf_hash BLOB CHECK (leaf_hash IS NULL OR length(leaf_hash) = 32);

-- +goose Down
ALTER TABLE events DROP COLUMN leaf_hash;
