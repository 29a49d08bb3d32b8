package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/tlog"
	"github.com/lockbox-dev/lockbox/tlog/storagetest"
)

// AppendLeaves commits leaves at the end of log as the service commits
// events: in one Update, each taking the log's next index (next) and stored
// by AppendEvent's own steps (insert), which the engine gives. Only the
// leaf bytes differ: each event is sealed, then its leaf replaced by the
// given bytes, which no lockbox.Event marshals to (tlog's storage suite
// checks they come back exactly).
func AppendLeaves(ctx context.Context, s lockbox.Store, log string,
	next func(context.Context, lockbox.Tx, lockbox.TenantID) (int64, error),
	insert func(context.Context, lockbox.Tx, *lockbox.Event) error,
	leaves ...[]byte,
) error {
	return s.Update(ctx, func(tx lockbox.Tx) error {
		for _, leaf := range leaves {
			e := lockbox.NewEvent(lockbox.TenantID(log), lockbox.EventUserCreated, "", time.Now(), nil)
			idx, err := next(ctx, tx, e.TenantID)
			if err != nil {
				return err
			}
			if err := e.Seal(idx); err != nil {
				return err
			}
			e.Leaf = leaf
			if err := insert(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// TLogStorage runs tlog's storage suite on fresh stores from newStore, with
// leaves committed through Update and AppendEvent's steps by appendLeaves.
func TLogStorage(t *testing.T, newStore func(t *testing.T) tlog.Storage,
	appendLeaves func(ctx context.Context, st tlog.Storage, log string, leaves ...[]byte) error,
) {
	storagetest.Run(t, storagetest.Harness{
		New: newStore,
		Append: func(t *testing.T, st tlog.Storage, log string, leaves ...[]byte) {
			t.Helper()
			if err := appendLeaves(t.Context(), st, log, leaves...); err != nil {
				t.Fatalf("append %d leaves to log %q: %v", len(leaves), log, err)
			}
		},
	})
}
