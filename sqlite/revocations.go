package sqlite

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// AppendRevocation implements lockbox.Tx. The writer is serial, so the
// largest number plus one gives numbers in commit order (seq is the rowid:
// the largest is read from the end of the table).
func (t *tx) AppendRevocation(ctx context.Context, r *lockbox.Revocation) error {
	var seq int64
	if err := t.queryRow(ctx, `SELECT COALESCE(max(seq), 0) + 1 FROM revocations`).Scan(&seq); err != nil {
		return fmt.Errorf("sqlite: append revocation of %s: %w", r.RequestID, err)
	}
	_, err := t.exec(ctx, sqlstore.InsertRevocation, sqlstore.InsertRevocationArgs(dialect, seq, r)...)
	if err != nil {
		if _, ok := isUnique(err); ok {
			return lockbox.Errorf(lockbox.CodeConflict, "request %s is already in the revocation feed", r.RequestID)
		}
		return fmt.Errorf("sqlite: append revocation of %s: %w", r.RequestID, err)
	}
	r.Seq = seq
	return nil
}
