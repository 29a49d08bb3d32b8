package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/lockbox-dev/lockbox/sqlite"
	"github.com/lockbox-dev/lockbox/storetest"
	"github.com/lockbox-dev/lockbox/tlog"
	"github.com/lockbox-dev/lockbox/tlog/storagetest"
)

// The store passes tlog's storage suite with leaves committed through
// Update and AppendEvent's steps.
func TestTLogStorage(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		New: func(t *testing.T) tlog.Storage { return open(t, filepath.Join(t.TempDir(), "lockbox.db")) },
		Append: func(t *testing.T, st tlog.Storage, log string, leaves ...[]byte) {
			t.Helper()
			if err := sqlite.AppendLeaves(t.Context(), st.(*sqlite.Store), log, leaves...); err != nil {
				t.Fatalf("append %d leaves to log %q: %v", len(leaves), log, err)
			}
		},
	})
}

func TestLogs(t *testing.T) {
	storetest.Logs(t, func(t *testing.T) storetest.LogStore { return open(t, filepath.Join(t.TempDir(), "lockbox.db")) })
}
