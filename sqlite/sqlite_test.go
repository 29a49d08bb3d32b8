package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

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

// A canceled context leaves the store usable.
func TestCanceledContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "lockbox.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(ctx, func(tx lockbox.Tx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a canceled context = %v", err)
	}
	if err := s.Update(t.Context(), func(tx lockbox.Tx) error { return nil }); err != nil {
		t.Fatalf("Update after a canceled one: %v", err)
	}
}

// View never sees an Update's uncommitted work, and does not wait for it.
func TestViewDuringUpdate(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "lockbox.db"))
	ctx := t.Context()
	tn := &lockbox.Tenant{ID: "ten_1", Name: "acme", Lockbox: lockbox.DefaultLockboxSettings(), CreatedAt: lockbox.SystemClock()}
	err := s.Update(ctx, func(tx lockbox.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		err := s.View(ctx, func(r lockbox.Reader) error {
			_, err := r.GetTenant(ctx, tn.ID)
			return err
		})
		if !errors.Is(err, lockbox.ErrNotFound) {
			t.Errorf("View during the Update saw its uncommitted tenant: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// View is read-only even for a caller that asserts its Reader to a Tx.
func TestViewIsReadOnly(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "lockbox.db"))
	ctx := t.Context()
	err := s.View(ctx, func(r lockbox.Reader) error {
		tx, ok := r.(lockbox.Tx)
		if !ok {
			return nil
		}
		return tx.CreateTenant(ctx, &lockbox.Tenant{ID: "ten_1", Name: "x", CreatedAt: lockbox.SystemClock()})
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
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

// The stored leaf is the event's canonical JSON, and equals the canonical
// JSON of the event as ListEvents returns it, even when the appended event's
// time had nanoseconds and another zone.
func TestEventLeafStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lockbox.db")
	s := open(t, path)
	ctx := t.Context()
	zone := time.FixedZone("CET", 3600)
	e := lockbox.NewEvent("ten_1", lockbox.EventRequestApproved, "usr_1",
		time.Date(2025, 6, 1, 12, 0, 0, 123456789, zone), map[string]any{"b": "<&>", "a": 1})
	e.RequestID, e.TicketID = "req_1", "tkt_1"
	if err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.AppendEvent(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	if e.Time.Location() != time.UTC || e.Time.Nanosecond() != 123456000 {
		t.Errorf("AppendEvent did not normalise the time to UTC microseconds: %s", e.Time.Format(time.RFC3339Nano))
	}
	var leaf []byte
	if err := rawDB(t, path).QueryRow(`SELECT leaf FROM events WHERE tenant_id = 'ten_1' AND idx = 0`).Scan(&leaf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf, e.LeafBytes()) {
		t.Fatalf("stored leaf %s, want %s", leaf, e.LeafBytes())
	}
	var evs []*lockbox.Event
	if err := s.View(ctx, func(r lockbox.Reader) (err error) {
		evs, err = r.ListEvents(ctx, lockbox.EventFilter{TenantID: "ten_1", After: -1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || !bytes.Equal(evs[0].LeafBytes(), leaf) {
		t.Fatalf("leaf of the read event differs from the stored leaf %s", leaf)
	}
}

func TestEventRejectsInvalidData(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "lockbox.db"))
	ctx := t.Context()
	e := lockbox.NewEvent("ten_1", lockbox.EventUserCreated, "", lockbox.SystemClock(), nil)
	e.Data = []byte(`{"unterminated"`)
	if err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.AppendEvent(ctx, e) }); err == nil {
		t.Fatal("an event with invalid JSON data was appended")
	}
}

// Reviews and events cannot be changed even by SQL that bypasses the store.
func TestAppendOnlyTriggers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lockbox.db")
	s := open(t, path)
	ctx := t.Context()
	now := lockbox.SystemClock()
	tn := &lockbox.Tenant{ID: "ten_1", Name: "acme", Lockbox: lockbox.DefaultLockboxSettings(), CreatedAt: now}
	eng := &lockbox.User{ID: "usr_eng", Kind: lockbox.KindOperator, Email: "eng@op.example", Roles: []lockbox.Role{lockbox.RoleEngineer}, CreatedAt: now, UpdatedAt: now}
	lead := &lockbox.User{ID: "usr_lead", Kind: lockbox.KindOperator, Email: "lead@op.example", Roles: []lockbox.Role{lockbox.RoleEngineer}, CreatedAt: now, UpdatedAt: now}
	tk := &lockbox.Ticket{ID: "tkt_1", TenantID: tn.ID, Title: "t", Severity: 3, Status: lockbox.TicketOpen, CreatedBy: eng.ID, CreatedAt: now, UpdatedAt: now}
	r := &lockbox.AccessRequest{ID: "req_1", TenantID: tn.ID, TicketID: tk.ID, RequesterID: eng.ID, Status: lockbox.StatusPendingInternal,
		CreatedAt: now, UpdatedAt: now, DecisionDeadline: now.Add(time.Hour),
		Reviews: []lockbox.Review{{ReviewerID: lead.ID, Stage: lockbox.StageInternal, Decision: lockbox.DecisionApprove, CreatedAt: now}}}
	err := s.Update(ctx, func(tx lockbox.Tx) error {
		return errors.Join(tx.CreateTenant(ctx, tn), tx.CreateUser(ctx, eng), tx.CreateUser(ctx, lead),
			tx.CreateTicket(ctx, tk), tx.CreateRequest(ctx, r),
			tx.AppendEvent(ctx, lockbox.NewEvent(tn.ID, lockbox.EventRequestCreated, eng.ID, now, nil)))
	})
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{
		`UPDATE events SET type = 'x'`,
		`DELETE FROM events`,
		`UPDATE reviews SET reason = 'x'`,
		`DELETE FROM reviews`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
	var events, reviews int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM reviews WHERE reason = '')`).
		Scan(&events, &reviews); err != nil {
		t.Fatal(err)
	}
	if events != 1 || reviews != 1 {
		t.Fatalf("after tampering: %d events, %d untouched reviews; want 1 and 1", events, reviews)
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
