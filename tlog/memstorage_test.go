package tlog_test

import (
	"testing"

	"github.com/lockbox-dev/lockbox/tlog"
	"github.com/lockbox-dev/lockbox/tlog/storagetest"
)

// MemStorage passes the suite the SQL stores run.
func TestMemStorage(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		New: func(*testing.T) tlog.Storage { return tlog.NewMemStorage() },
		Append: func(_ *testing.T, st tlog.Storage, log string, leaves ...[]byte) {
			st.(*tlog.MemStorage).Append(log, leaves...)
		},
	})
}
