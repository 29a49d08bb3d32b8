package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/transparency-dev/merkle/compact"

	"github.com/lockbox-dev/lockbox/internal/sqlstore"
	"github.com/lockbox-dev/lockbox/tlog"
)

// The Store keeps the tenant Merkle logs (docs/design.md §6): the leaves are the
// events' leaf column, the tree is in tree_nodes and tree_heads (migration
// 00002). Any number of replicas may run the sequencer: StoreTree moves a
// head by compare-and-set, and tree_heads is a table of its own, so
// sequencers never write the log_heads rows appenders lock (and so never
// make them retry, nor wait for them).
var _ tlog.Storage = (*Store)(nil)

// TreeHead implements tlog.Storage.
func (s *Store) TreeHead(ctx context.Context, log string) (tlog.Head, error) {
	return sqlstore.TreeHead(ctx, dialect, poolQuerier{s.pool}, log)
}

// Leaves implements tlog.Storage (see sqlstore.Leaves): log_heads hands
// indexes out, a rolled-back append gives its index back, and appends to
// one log commit in index order.
func (s *Store) Leaves(ctx context.Context, log string, start, end uint64) ([][]byte, error) {
	return sqlstore.Leaves(ctx, dialect, poolQuerier{s.pool}, log, start, end)
}

// Nodes implements tlog.Storage in one query, whatever the number of ids:
// they go as two arrays, which unnest turns into rows joined to tree_nodes
// by its primary key, in their order, and for level 0 to the leaf hash the
// writer stored with the event (events appended before migration 00004
// have theirs in tree_nodes).
func (s *Store) Nodes(ctx context.Context, log string, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	levels, indexes := nodeArrays(ids)
	hashes := make([][]byte, 0, len(ids))
	// The subquery runs for leaves only: a join would probe the events
	// index for every node.
	rows, err := s.pool.Query(ctx, `SELECT CASE WHEN q.level = 0
			THEN coalesce((SELECT e.leaf_hash FROM events AS e WHERE e.tenant_id = $1 AND e.idx = q.idx), n.hash)
			ELSE n.hash END
		FROM unnest($2::integer[], $3::bigint[]) WITH ORDINALITY AS q (level, idx, ord)
		LEFT JOIN tree_nodes AS n ON n.log = $1 AND n.level = q.level AND n.idx = q.idx
		ORDER BY q.ord`, log, levels, indexes)
	if err == nil {
		var hash []byte
		_, err = pgx.ForEachRow(rows, []any{&hash}, func() error {
			hashes = append(hashes, hash)
			return nil
		})
	}
	if err == nil && len(hashes) != len(ids) {
		err = fmt.Errorf("%d hashes for %d nodes", len(hashes), len(ids))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read %d nodes of log %q: %w", len(ids), log, err)
	}
	for i, h := range hashes {
		if h == nil {
			return nil, fmt.Errorf("%w: node (level %d, index %d) of log %q", tlog.ErrMissingNode, ids[i].Level, ids[i].Index, log)
		}
	}
	return hashes, nil
}

// nodeArrays splits node ids into their levels and indexes. An index
// beyond bigint matches no node: -1 stands for it.
func nodeArrays(ids []compact.NodeID) ([]int32, []int64) {
	levels, indexes := make([]int32, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		levels[i], indexes[i] = int32(min(id.Level, math.MaxInt32)), -1
		if id.Index <= math.MaxInt64 {
			indexes[i] = int64(id.Index)
		}
	}
	return levels, indexes
}

// StoreTree implements tlog.Storage in one transaction: it moves the head
// by compare-and-set on its size, then inserts the nodes. A node already
// stored with the same hash is kept; with another hash, the tree would be
// corrupt, so nothing is stored.
//
// The transaction is READ COMMITTED, not the REPEATABLE READ of Update: of
// two sequencers moving one head, the second waits for the first's row
// lock, then re-checks the size on the committed row and matches nothing,
// or finds the first's inserted row and does nothing; either way it returns
// ErrHeadMoved, never a serialisation failure. The nodes are written only
// after the head moved, under its lock, so no other sequencer writes the
// same ones. A serialisation failure or deadlock, which should not happen,
// is reported as ErrHeadMoved too: the sequencer re-reads the head and
// tries again.
func (s *Store) StoreTree(ctx context.Context, log string, from, to tlog.Head, nodes []tlog.Node) error {
	if err := tlog.CheckStoreTree(log, from, to, nodes); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	ids := make([]compact.NodeID, len(nodes))
	hashes := make([][]byte, len(nodes))
	for i, n := range nodes {
		ids[i], hashes[i] = n.ID, n.Hash
	}
	levels, indexes := nodeArrays(ids)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		var (
			query string
			args  []any
		)
		if from.Size == 0 {
			// A log without a head has size 0. (The WHERE clause also
			// accepts a stored head of size 0, which Integrate never
			// writes.)
			query = `INSERT INTO tree_heads (log, size, root) VALUES ($1, $2, $3)
				ON CONFLICT (log) DO UPDATE SET size = excluded.size, root = excluded.root
				WHERE tree_heads.size = 0`
			args = []any{log, int64(to.Size), to.Root}
		} else {
			query = `UPDATE tree_heads SET size = $2, root = $3 WHERE log = $1 AND size = $4`
			args = []any{log, int64(to.Size), to.Root, int64(from.Size)}
		}
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("move the tree head from %d to %d: %w", from.Size, to.Size, err)
		}
		if tag.RowsAffected() == 0 {
			var cur int64
			err := tx.QueryRow(ctx, `SELECT size FROM tree_heads WHERE log = $1`, log).Scan(&cur)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			return fmt.Errorf("%w: log %q is at size %d, not %d", tlog.ErrHeadMoved, log, cur, from.Size)
		}
		if len(nodes) == 0 {
			return nil
		}
		tag, err = tx.Exec(ctx, `INSERT INTO tree_nodes (log, level, idx, hash)
			SELECT $1, q.* FROM unnest($2::integer[], $3::bigint[], $4::bytea[]) AS q
			ON CONFLICT DO NOTHING`, log, levels, indexes, hashes)
		if err != nil {
			return fmt.Errorf("store %d nodes: %w", len(nodes), err)
		}
		if tag.RowsAffected() == int64(len(nodes)) {
			return nil
		}
		// Some nodes were there already: they must have the same hash.
		var level, idx int64
		err = tx.QueryRow(ctx, `SELECT n.level, n.idx
			FROM unnest($2::integer[], $3::bigint[], $4::bytea[]) AS q (level, idx, hash)
			JOIN tree_nodes AS n ON n.log = $1 AND n.level = q.level AND n.idx = q.idx
			WHERE n.hash <> q.hash
			LIMIT 1`, log, levels, indexes, hashes).Scan(&level, &idx)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("check the stored nodes: %w", err)
		}
		return fmt.Errorf("node (level %d, index %d) is already stored with another hash", level, idx)
	})
	switch {
	case err == nil, errors.Is(err, tlog.ErrHeadMoved):
		return err
	case isRetryable(err):
		return fmt.Errorf("%w: log %q: %w", tlog.ErrHeadMoved, log, err)
	}
	return fmt.Errorf("postgres: store the tree of log %q: %w", log, err)
}

// PendingLogs returns the logs whose committed events go beyond their tree
// head, in byte order of their names: the sequencer's periodic catch-up
// integrates them (notices of commits may be lost). log_heads counts the
// committed events of every log, so this reads one row per log.
func (s *Store) PendingLogs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT l.tenant_id
		FROM log_heads AS l LEFT JOIN tree_heads AS h ON h.log = l.tenant_id
		WHERE l.next_idx > coalesce(h.size, 0)
		ORDER BY l.tenant_id COLLATE "C"`)
	logs := []string{}
	if err == nil {
		var log string
		_, err = pgx.ForEachRow(rows, []any{&log}, func() error {
			logs = append(logs, log)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list the logs to integrate: %w", err)
	}
	return logs, nil
}
