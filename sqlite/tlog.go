package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/transparency-dev/merkle/compact"

	"github.com/lockbox-dev/lockbox/internal/sqlstore"
	"github.com/lockbox-dev/lockbox/tlog"
)

// The Store keeps the tenant Merkle logs (docs/design.md §6): the leaves are the
// events' leaf column, the tree is in tree_nodes and tree_heads (migration
// 00002). Reads run on the reader pool; StoreTree runs on the writer, whose
// transactions are serial, so its compare-and-set never races.
var _ tlog.Storage = (*Store)(nil)

// TreeHead implements tlog.Storage.
func (s *Store) TreeHead(ctx context.Context, log string) (tlog.Head, error) {
	var head tlog.Head
	err := s.read(ctx, func(t *tx) error {
		var err error
		head, err = t.treeHead(ctx, log)
		return err
	})
	return head, err
}

// treeHead reads the stored head of log; the zero Head when there is none.
func (t *tx) treeHead(ctx context.Context, log string) (tlog.Head, error) {
	return sqlstore.TreeHead(ctx, dialect, t.Q, log)
}

// Leaves implements tlog.Storage (see sqlstore.Leaves).
func (s *Store) Leaves(ctx context.Context, log string, start, end uint64) (leaves [][]byte, err error) {
	err = s.read(ctx, func(t *tx) (err error) {
		leaves, err = sqlstore.Leaves(ctx, dialect, t.Q, log, start, end)
		return err
	})
	return leaves, err
}

// Nodes implements tlog.Storage in one query, whatever the number of ids:
// they go as a JSON array of [level, index] pairs, which json_each turns
// into rows joined to tree_nodes by its primary key, and for level 0 to the
// leaf hash the writer stored with the event (events appended before
// migration 00004 have theirs in tree_nodes). The query text is fixed, so
// it is prepared once.
func (s *Store) Nodes(ctx context.Context, log string, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	hashes := make([][]byte, len(ids))
	err := s.read(ctx, func(t *tx) error {
		// The subquery runs for leaves only: a join would seek the
		// events table for every node.
		rows, err := t.query(ctx, `SELECT j.key, CASE WHEN j.value ->> 0 = 0
				THEN coalesce((SELECT e.leaf_hash FROM events AS e WHERE e.tenant_id = ?2 AND e.idx = j.value ->> 1), n.hash)
				ELSE n.hash END
			FROM json_each(?1) AS j
			LEFT JOIN tree_nodes AS n ON n.log = ?2 AND n.level = j.value ->> 0 AND n.idx = j.value ->> 1
			ORDER BY j.key`, nodeIDsJSON(ids), log)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				i    int
				hash []byte
			)
			if err := rows.Scan(&i, &hash); err != nil {
				return err
			}
			if i < 0 || i >= len(ids) {
				return fmt.Errorf("node number %d of %d", i, len(ids))
			}
			hashes[i] = hash
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %d nodes of log %q: %w", len(ids), log, err)
	}
	for i, h := range hashes {
		if h == nil {
			return nil, fmt.Errorf("%w: node (level %d, index %d) of log %q", tlog.ErrMissingNode, ids[i].Level, ids[i].Index, log)
		}
	}
	return hashes, nil
}

// nodeIDsJSON encodes ids as a JSON array of [level, index] pairs.
func nodeIDsJSON(ids []compact.NodeID) string {
	b := make([]byte, 0, 2+len(ids)*16)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(id.Level), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, id.Index, 10)
		b = append(b, ']')
	}
	return string(append(b, ']'))
}

// StoreTree implements tlog.Storage in one write transaction: it moves the
// head by compare-and-set on its size, then inserts the nodes. A node
// already stored with the same hash is kept; with another hash, the tree
// would be corrupt, so nothing is stored.
func (s *Store) StoreTree(ctx context.Context, log string, from, to tlog.Head, nodes []tlog.Node) error {
	if err := tlog.CheckStoreTree(log, from, to, nodes); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	// Node hashes go as one blob, 32 bytes each, next to the JSON array
	// of their ids: one statement inserts them all.
	ids := make([]compact.NodeID, len(nodes))
	blob := make([]byte, 0, len(nodes)*tlog.HashSize)
	for i, n := range nodes {
		ids[i] = n.ID
		blob = append(blob, n.Hash...)
	}
	idsJSON := nodeIDsJSON(ids)
	return s.update(ctx, func(t *tx) error {
		var (
			res sql.Result
			err error
		)
		if from.Size == 0 {
			// A log without a head has size 0. (The WHERE clause also
			// accepts a stored head of size 0, which Integrate never
			// writes.)
			res, err = t.exec(ctx, `INSERT INTO tree_heads (log, size, root) VALUES (?1, ?2, ?3)
				ON CONFLICT (log) DO UPDATE SET size = excluded.size, root = excluded.root
				WHERE tree_heads.size = 0`, log, int64(to.Size), to.Root)
		} else {
			res, err = t.exec(ctx, `UPDATE tree_heads SET size = ?1, root = ?2 WHERE log = ?3 AND size = ?4`,
				int64(to.Size), to.Root, log, int64(from.Size))
		}
		if err != nil {
			return fmt.Errorf("sqlite: move the tree head of log %q from %d to %d: %w", log, from.Size, to.Size, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: move the tree head of log %q: %w", log, err)
		}
		if n == 0 {
			cur, err := t.treeHead(ctx, log)
			if err != nil {
				return err
			}
			return fmt.Errorf("%w: log %q is at size %d, not %d", tlog.ErrHeadMoved, log, cur.Size, from.Size)
		}
		if len(nodes) == 0 {
			return nil
		}
		// "WHERE true" tells SQLite's parser that ON CONFLICT is the
		// upsert clause, not a join constraint.
		res, err = t.exec(ctx, `INSERT INTO tree_nodes (log, level, idx, hash)
			SELECT ?1, j.value ->> 0, j.value ->> 1, substr(?3, j.key * 32 + 1, 32)
			FROM json_each(?2) AS j WHERE true
			ON CONFLICT DO NOTHING`, log, idsJSON, blob)
		if err != nil {
			return fmt.Errorf("sqlite: store %d nodes of log %q: %w", len(nodes), log, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == int64(len(nodes)) {
			return nil
		}
		// Some nodes were there already: they must have the same hash.
		// CROSS JOIN keeps json_each the outer loop: SQLite would
		// otherwise scan all the log's nodes.
		var level, idx int64
		err = t.queryRow(ctx, `SELECT n.level, n.idx
			FROM json_each(?2) AS j
			CROSS JOIN tree_nodes AS n ON n.log = ?1 AND n.level = j.value ->> 0 AND n.idx = j.value ->> 1
			WHERE n.hash <> substr(?3, j.key * 32 + 1, 32)
			LIMIT 1`, log, idsJSON, blob).Scan(&level, &idx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("sqlite: check the stored nodes of log %q: %w", log, err)
		}
		return fmt.Errorf("sqlite: log %q: node (level %d, index %d) is already stored with another hash", log, level, idx)
	})
}

// PendingLogs returns the logs whose committed events go beyond their tree
// head, in name order: the sequencer's periodic catch-up integrates them
// (notices of commits may be lost).
//
// There is no table of logs: the recursive query finds each log in the
// events primary key by one seek past the previous one (a loose index
// scan), and its last index by another, so the cost grows with the number
// of logs, not of events as "GROUP BY tenant_id" would.
func (s *Store) PendingLogs(ctx context.Context) ([]string, error) {
	logs := []string{}
	err := s.read(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `WITH RECURSIVE logs (log) AS (
				SELECT (SELECT tenant_id FROM events ORDER BY tenant_id LIMIT 1)
				UNION ALL
				SELECT (SELECT tenant_id FROM events WHERE tenant_id > logs.log ORDER BY tenant_id LIMIT 1)
				FROM logs WHERE logs.log IS NOT NULL
			)
			SELECT logs.log FROM logs LEFT JOIN tree_heads AS h ON h.log = logs.log
			WHERE logs.log IS NOT NULL
				AND (SELECT idx FROM events WHERE tenant_id = logs.log ORDER BY idx DESC LIMIT 1) >= coalesce(h.size, 0)
			ORDER BY logs.log`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var log string
			if err := rows.Scan(&log); err != nil {
				return err
			}
			logs = append(logs, log)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list the logs to integrate: %w", err)
	}
	return logs, nil
}
