package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/lockbox-dev/lockbox/tlog"
)

// TreeHead reads the stored head of a tenant Merkle log; the zero Head
// when there is none.
func TreeHead(ctx context.Context, d *Dialect, q Querier, log string) (tlog.Head, error) {
	var (
		size int64
		root []byte
	)
	err := q.QueryRow(ctx, d.Q(`SELECT size, root FROM tree_heads WHERE log = ?`), log).Scan(&size, &root)
	switch {
	case d.NoRows(err):
		return tlog.Head{}, nil
	case err != nil:
		return tlog.Head{}, fmt.Errorf("%s: read the tree head of log %q: %w", d.Name, log, err)
	}
	return tlog.Head{Size: uint64(size), Root: root}, nil
}

// Leaves implements tlog.Storage's method: the leaf column of the log's
// events, byte for byte. Indexes are contiguous (each engine's AppendEvent
// hands them out in commit order, and events are append-only), so a gap is
// a damaged database. The answer then stops at the gap: the server serves
// the entries up to it, a verifier names the first missing entry, and the
// sequencer never integrates past it (it logs that the log does not
// advance).
func Leaves(ctx context.Context, d *Dialect, q Querier, log string, start, end uint64) ([][]byte, error) {
	if end < start {
		return nil, fmt.Errorf("%s: leaves [%d, %d) of log %q: end before start", d.Name, start, end, log)
	}
	end = min(end, math.MaxInt64) // SQL integers are signed: no index reaches it
	if start >= end {
		return nil, nil
	}
	var leaves [][]byte
	err := q.QueryEach(ctx, d.Q(`SELECT idx, leaf FROM events WHERE tenant_id = ? AND idx >= ? AND idx < ? ORDER BY idx`),
		[]any{log, int64(start), int64(end)}, func(r Row) error {
			var (
				idx  int64
				leaf []byte
			)
			if err := r.Scan(&idx, &leaf); err != nil {
				return err
			}
			if want := start + uint64(len(leaves)); uint64(idx) != want {
				return errGap
			}
			leaves = append(leaves, leaf)
			return nil
		})
	if err != nil && !errors.Is(err, errGap) {
		return nil, fmt.Errorf("%s: read leaves [%d, %d) of log %q: %w", d.Name, start, end, log, err)
	}
	return leaves, nil
}

// errGap stops reading leaves at a missing index.
var errGap = errors.New("a log entry is missing")
