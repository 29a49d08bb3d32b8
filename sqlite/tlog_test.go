package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lockbox-dev/lockbox/sqlite"
	"github.com/lockbox-dev/lockbox/storetest"
	"github.com/lockbox-dev/lockbox/tlog"
)

// The store passes tlog's storage suite with leaves committed through
// Update and AppendEvent's steps.
func TestTLogStorage(t *testing.T) {
	storetest.TLogStorage(t, func(t *testing.T) tlog.Storage { return open(t, filepath.Join(t.TempDir(), "lockbox.db")) },
		func(ctx context.Context, st tlog.Storage, log string, leaves ...[]byte) error {
			return sqlite.AppendLeaves(ctx, st.(*sqlite.Store), log, leaves...)
		})
}

func TestLogs(t *testing.T) {
	storetest.Logs(t, func(t *testing.T) storetest.LogStore { return open(t, filepath.Join(t.TempDir(), "lockbox.db")) })
}
