package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/sqlite"
	"github.com/lockbox-dev/lockbox/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.All(t, func(t *testing.T) lockbox.Store {
		return open(t, filepath.Join(t.TempDir(), "lockbox.db"))
	})
}

// TestEngine runs the engine cases every SQL store shares, on a SQLite
// file opened directly for the raw hooks.
func TestEngine(t *testing.T) {
	storetest.Engines(t, storetest.Engine{
		Open: func(t *testing.T) (lockbox.Store, storetest.Raw) {
			path := filepath.Join(t.TempDir(), "lockbox.db")
			s, db := open(t, path), rawDB(t, path)
			return s, storetest.Raw{
				Exec: func(ctx context.Context, q string) error {
					_, err := db.ExecContext(ctx, q)
					return err
				},
				QueryRow: func(ctx context.Context, q string, dest ...any) error {
					return db.QueryRowContext(ctx, q).Scan(dest...)
				},
			}
		},
	})
}

// rawDB opens the database file directly, to look under the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data dir?#", "nested")
	path := filepath.Join(dir, "lockbox.db")
	open(t, path)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("database directory: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("database directory mode = %o, want 700", perm)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lockbox.db")
	s1, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	tn := &lockbox.Tenant{ID: "ten_1", Name: "acme", Lockbox: lockbox.DefaultLockboxSettings(), CreatedAt: lockbox.SystemClock()}
	if err := s1.Update(t.Context(), func(tx lockbox.Tx) error { return tx.CreateTenant(t.Context(), tn) }); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the data is there and no migration ran again.
	s2 := open(t, path)
	if err := s2.View(t.Context(), func(r lockbox.Reader) error {
		_, err := r.GetTenant(t.Context(), tn.ID)
		return err
	}); err != nil {
		t.Fatalf("tenant after reopening: %v", err)
	}
	// A second store on the same file at the same time works too.
	s3 := open(t, path)
	if err := s3.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	current, latest, err := s3.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if current != latest || current < 1 {
		t.Errorf("schema version %d, latest %d", current, latest)
	}

	var applied, distinct int
	err = rawDB(t, path).QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).
		Scan(&applied, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	// Versions need not be contiguous (branches take numbers ahead of
	// their merge): count the migration files.
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("listing the migrations: %v", err)
	}
	if applied != len(files) || distinct != applied {
		t.Errorf("goose_db_version has %d rows for %d versions, want each of %d migrations once (latest %d)", applied, distinct, len(files), latest)
	}
}

func TestOpenRefusesBadPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The "directory" is a file.
	if _, err := sqlite.Open(t.Context(), filepath.Join(file, "lockbox.db")); err == nil {
		t.Fatal("Open under a file succeeded")
	}
	if _, err := sqlite.Open(t.Context(), ""); err == nil {
		t.Fatal("Open with no path succeeded")
	}
}

// Two stores on one file (two processes, in effect) append to the same log
// concurrently: BEGIN IMMEDIATE and the busy timeout serialise them without
// SQLITE_BUSY errors or duplicate indexes.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lockbox.db")
	stores := []*sqlite.Store{open(t, path), open(t, path)}
	const perStore = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for _, s := range stores {
		for range perStore {
			wg.Go(func() {
				errs <- s.Update(t.Context(), func(tx lockbox.Tx) error {
					// Read first, then write: a deferred transaction would
					// fail here with SQLITE_BUSY when the other store writes.
					if _, err := tx.ListEvents(t.Context(), lockbox.EventFilter{TenantID: "ten_1", After: -1}); err != nil {
						return err
					}
					return tx.AppendEvent(t.Context(), lockbox.NewEvent("ten_1", lockbox.EventUserCreated, "", lockbox.SystemClock(), nil))
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	var evs []*lockbox.Event
	_ = stores[0].View(t.Context(), func(r lockbox.Reader) (err error) {
		evs, err = r.ListEvents(t.Context(), lockbox.EventFilter{TenantID: "ten_1", After: -1})
		return err
	})
	if len(evs) != 2*perStore {
		t.Fatalf("%d events, want %d", len(evs), 2*perStore)
	}
	for i, e := range evs {
		if e.Index != int64(i) {
			t.Fatalf("event %d has index %d", i, e.Index)
		}
	}
}

// BenchmarkUpdateAppendEvent measures durable commits of one small
// transaction: a read and an event append, as every use case does.
func BenchmarkUpdateAppendEvent(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "lockbox.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	for b.Loop() {
		err := s.Update(ctx, func(tx lockbox.Tx) error {
			if _, err := tx.CountUsers(ctx); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, lockbox.NewEvent("ten_1", lockbox.EventUserCreated, "usr_1", lockbox.SystemClock(), map[string]int{"n": 1}))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The database holds secrets: its file and the -wal and -shm files are
// readable by their owner only, from the first Open, and files left with a
// looser mode (by an older lockbox, or a crash) are tightened by the next.
func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	path := filepath.Join(t.TempDir(), "lockbox.db")
	files := []string{path, path + "-wal", path + "-shm"}
	check := func(what string) {
		t.Helper()
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s: %s has mode %o, want 600", what, filepath.Base(f), perm)
			}
		}
	}
	s := open(t, path)
	if err := s.PutSecret(t.Context(), "key", []byte("secret"), 0); err != nil {
		t.Fatal(err)
	}
	check("new database")

	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open(t, path) // while s holds the -wal and -shm files
	check("database opened again")
}
