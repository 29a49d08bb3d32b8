package postgres

import (
	"context"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// AppendLeaves commits leaves at the end of log as the service commits
// events: in one Update, each taking the log's next index from log_heads
// and stored with its notice by AppendEvent's own steps. Only the leaf bytes
// differ: each event is sealed, then its leaf replaced by the given bytes,
// which no lockbox.Event marshals to (tlog's storage suite checks they come
// back exactly).
func AppendLeaves(ctx context.Context, s *Store, log string, leaves ...[]byte) error {
	return s.Update(ctx, func(ltx lockbox.Tx) error {
		t := ltx.(*tx)
		for _, leaf := range leaves {
			e := lockbox.NewEvent(lockbox.TenantID(log), lockbox.EventUserCreated, "", time.Now(), nil)
			idx, err := t.nextIndex(ctx, e.TenantID)
			if err != nil {
				return err
			}
			if err := e.Seal(idx); err != nil {
				return err
			}
			e.Leaf = leaf
			if err := t.insertEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}
