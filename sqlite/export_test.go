package sqlite

import (
	"context"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/storetest"
)

// AppendLeaves commits leaves at the end of log with AppendEvent's own
// steps (see storetest.AppendLeaves).
func AppendLeaves(ctx context.Context, s *Store, log string, leaves ...[]byte) error {
	return storetest.AppendLeaves(ctx, s, log,
		func(ctx context.Context, t lockbox.Tx, id lockbox.TenantID) (int64, error) {
			return t.(*tx).nextIndex(ctx, id)
		},
		func(ctx context.Context, t lockbox.Tx, e *lockbox.Event) error { return t.(*tx).insertEvent(ctx, e) },
		leaves...)
}
