package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/postgres"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
	"github.com/lockbox-dev/lockbox/storetest"
)

// testLogger sends a store's background reports to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// open opens a store on url, closed when the test ends.
func open(t testing.TB, url string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, append([]postgres.Option{postgres.WithLogger(testLogger(t))}, opts...)...)
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

// admin connects to the test database, outside any store, to look under
// the stores or break them.
func admin(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestConformance(t *testing.T) {
	storetest.All(t, func(t *testing.T) lockbox.Store { return open(t, pgtest.URL(t)) })
}

// Two stores on one schema are two replicas.
func TestShared(t *testing.T) {
	storetest.Shared(t, func(t *testing.T) (a, b lockbox.Store) {
		url := pgtest.URL(t)
		return open(t, url), open(t, url)
	})
}

// TestEngine runs the engine cases every SQL store shares, with a
// connection of its own to the store's schema for the raw hooks.
func TestEngine(t *testing.T) {
	storetest.Engines(t, storetest.Engine{
		Open: func(t *testing.T) (lockbox.Store, storetest.Raw) {
			url := pgtest.URL(t)
			s, db := open(t, url), admin(t, url)
			return s, storetest.Raw{
				Exec: func(ctx context.Context, q string) error {
					_, err := db.Exec(ctx, q)
					return err
				},
				QueryRow: func(ctx context.Context, q string, dest ...any) error {
					return db.QueryRow(ctx, q).Scan(dest...)
				},
			}
		},
		Tamper:    []string{`TRUNCATE events`, `TRUNCATE reviews CASCADE`},
		Retryable: &pgconn.PgError{Code: "40001", Message: "could not serialize access"},
	})
}

func newTenant(id string) *lockbox.Tenant {
	return &lockbox.Tenant{ID: lockbox.TenantID(id), Name: "acme", Lockbox: lockbox.DefaultLockboxSettings(),
		CreatedAt: lockbox.SystemClock()}
}

// Replicas starting at once migrate exactly once: the others wait for the
// migration lock and then find nothing to do.
func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	t.Parallel() // mostly waits
	url, schema := pgtest.Schema(t)
	const replicas = 5
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), url, postgres.WithLogger(testLogger(t))) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
		if got := stores[i].Schema(); got != schema {
			t.Errorf("store %d uses schema %q, want %q", i, got, schema)
		}
	}
	current, latest, err := stores[0].SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if current != latest || current < 1 {
		t.Errorf("schema version %d, latest %d", current, latest)
	}
	var applied, distinct int
	err = admin(t, url).QueryRow(t.Context(), `SELECT COUNT(*), COUNT(DISTINCT version_id)
		FROM `+pgx.Identifier{schema, "goose_db_version"}.Sanitize()+` WHERE version_id > 0`).Scan(&applied, &distinct)
	if err != nil {
		t.Fatalf("goose's version table is not in the test schema: %v", err)
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
	// Every replica works on the same tables.
	tn := newTenant("ten_1")
	if err := stores[1].Update(t.Context(), func(tx lockbox.Tx) error { return tx.CreateTenant(t.Context(), tn) }); err != nil {
		t.Fatal(err)
	}
	if err := stores[4].View(t.Context(), func(r lockbox.Reader) error {
		_, err := r.GetTenant(t.Context(), tn.ID)
		return err
	}); err != nil {
		t.Fatalf("tenant created through another replica: %v", err)
	}
}

// WithSchema creates its schema, once, even when replicas start together,
// and keeps everything in it.
func TestWithSchema(t *testing.T) {
	t.Parallel() // mostly waits
	base := pgtest.BaseURL(t)
	schema := fmt.Sprintf("lockbox_test_with_schema_%d", time.Now().UnixNano())
	conn := admin(t, base)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), base, postgres.WithSchema(schema), postgres.WithLogger(testLogger(t)))
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Open WithSchema: %v", err)
		}
	}
	var tables []string
	rows, err := conn.Query(t.Context(), `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"access_records", "comments", "credentials", "events", "goose_db_version", "invitations", "log_heads", "notifications", "requests", "reviews", "revocations", "secrets", "tenants", "throttle", "tickets", "tree_heads", "tree_nodes", "users"}
	if strings.Join(tables, ",") != strings.Join(want, ",") {
		t.Errorf("tables in schema %s: %v, want %v", schema, tables, want)
	}
}

func TestMigrateAndStatus(t *testing.T) {
	url := pgtest.URL(t)
	ctx := t.Context()
	states, err := postgres.MigrationStatus(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) == 0 {
		t.Fatal("MigrationStatus lists no migrations")
	}
	for _, st := range states {
		if st.Applied || !st.AppliedAt.IsZero() {
			t.Errorf("fresh schema: migration %d %s is applied", st.Version, st.Name)
		}
	}
	if states[0].Version != 1 || states[0].Name != "00001_schema.sql" {
		t.Errorf("first migration %d %q", states[0].Version, states[0].Name)
	}
	// Status changed nothing: not even goose's table exists.
	var exists bool
	if err := admin(t, url).QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("MigrationStatus created goose's version table")
	}

	if err := postgres.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := postgres.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	states, err = postgres.MigrationStatus(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if !st.Applied || st.AppliedAt.IsZero() {
			t.Errorf("after Migrate: migration %d %s: applied %v at %s", st.Version, st.Name, st.Applied, st.AppliedAt)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	base := pgtest.BaseURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"not a URL", "postgres://lockbox:s3cret@db:notaport/lockbox", "database URL"},
		{"no such schema", pgtest.WithSearchPath(base, "lockbox_no_such_schema"), "search_path"},
		{"unreachable", "postgres://lockbox:s3cret@127.0.0.1:1/lockbox?connect_timeout=2&sslmode=disable", "connect"},
	} {
		_, err := postgres.Open(ctx, tc.url)
		if err == nil {
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the password", tc.name, err)
		}
	}
}

// Times come back in UTC whatever the session's time zone, with their
// microseconds.
func TestTimesInUTC(t *testing.T) {
	s := open(t, pgtest.WithParam(pgtest.URL(t), "TimeZone", "America/New_York"))
	ctx := t.Context()
	tn := newTenant("ten_1")
	tn.CreatedAt = time.Date(2025, 7, 1, 23, 59, 59, 999999999, time.FixedZone("X", -7*3600))
	if err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	var got *lockbox.Tenant
	if err := s.View(ctx, func(r lockbox.Reader) (err error) {
		got, err = r.GetTenant(ctx, tn.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := tn.CreatedAt.UTC().Truncate(time.Microsecond) // truncated, as SQLite does, not rounded
	if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %s, want %s", got.CreatedAt.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

// Transactions that read a request and then write it concurrently conflict
// in PostgreSQL (SQLSTATE 40001); Update re-runs the loser, which reads the
// winner's version, so both succeed and the caller never sees the conflict.
func TestSerializationFailuresRetried(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()
	now := lockbox.SystemClock()
	tn := newTenant("ten_1")
	eng := &lockbox.User{ID: "usr_eng", Kind: lockbox.KindOperator, Email: "eng@op.example", CreatedAt: now, UpdatedAt: now}
	tk := &lockbox.Ticket{ID: "tkt_1", TenantID: tn.ID, Title: "t", Severity: 3, Status: lockbox.TicketOpen, CreatedBy: eng.ID, CreatedAt: now, UpdatedAt: now}
	r := &lockbox.AccessRequest{ID: "req_1", TenantID: tn.ID, TicketID: tk.ID, RequesterID: eng.ID,
		Status: lockbox.StatusPendingInternal, CreatedAt: now, UpdatedAt: now, DecisionDeadline: now.Add(time.Hour)}
	if err := a.Update(ctx, func(tx lockbox.Tx) error {
		return errors.Join(tx.CreateTenant(ctx, tn), tx.CreateUser(ctx, eng), tx.CreateTicket(ctx, tk), tx.CreateRequest(ctx, r))
	}); err != nil {
		t.Fatal(err)
	}

	var (
		read     sync.WaitGroup // both first attempts have read the request
		wg       sync.WaitGroup
		attempts [2]atomic.Int32
		errs     [2]error
	)
	read.Add(2)
	for i, s := range []*postgres.Store{a, b} {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx lockbox.Tx) error {
				cur, err := tx.GetRequest(ctx, r.ID)
				if err != nil {
					return err
				}
				if attempts[i].Add(1) == 1 {
					read.Done()
					read.Wait()
				}
				cur.EndComment += fmt.Sprint(i)
				if err := tx.UpdateRequest(ctx, cur); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, lockbox.NewEvent(tn.ID, lockbox.EventRequestReviewed, "", now, nil))
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	if n := attempts[0].Load() + attempts[1].Load(); n < 3 {
		t.Errorf("%d attempts in all: the conflict was not provoked or not retried", n)
	}
	var got *lockbox.AccessRequest
	var evs []*lockbox.Event
	if err := a.View(ctx, func(rd lockbox.Reader) (err error) {
		if got, err = rd.GetRequest(ctx, r.ID); err != nil {
			return err
		}
		evs, err = rd.ListEvents(ctx, lockbox.EventFilter{TenantID: tn.ID, After: -1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || (got.EndComment != "01" && got.EndComment != "10") {
		t.Errorf("request after two retried updates: version %d, end comment %q; want 3 and both updates", got.Version, got.EndComment)
	}
	if len(evs) != 2 || evs[0].Index != 0 || evs[1].Index != 1 {
		t.Errorf("events after two retried updates: %d", len(evs))
	}
}

// A deadlock (SQLSTATE 40P01) is retried too.
func TestDeadlocksRetried(t *testing.T) {
	t.Parallel() // mostly waits
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := t.Context()
	x, y := newTenant("ten_x"), newTenant("ten_y")
	if err := s.Update(ctx, func(tx lockbox.Tx) error {
		return errors.Join(tx.CreateTenant(ctx, x), tx.CreateTenant(ctx, y))
	}); err != nil {
		t.Fatal(err)
	}
	var (
		locked   sync.WaitGroup
		wg       sync.WaitGroup
		attempts atomic.Int32
		errs     [2]error
	)
	locked.Add(2)
	for i, order := range [][]*lockbox.Tenant{{x, y}, {y, x}} {
		wg.Go(func() {
			first := true
			errs[i] = s.Update(ctx, func(tx lockbox.Tx) error {
				attempts.Add(1)
				// Lock the first tenant's row (an UPDATE locks without a
				// snapshot read conflict), wait for the other transaction
				// to lock its first, then take the other's.
				if err := tx.UpdateTenant(ctx, order[0]); err != nil {
					return err
				}
				if first {
					first = false
					locked.Done()
					locked.Wait()
				}
				return tx.UpdateTenant(ctx, order[1])
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	if n := attempts.Load(); n < 3 {
		t.Errorf("%d attempts: the deadlock was not provoked or not retried", n)
	}
}

// After too many conflicts in a row Update gives up with a conflict the
// caller can show ("try again"), keeping PostgreSQL's error in the chain.
func TestRetriesEnd(t *testing.T) {
	t.Parallel() // mostly waits
	s := open(t, pgtest.URL(t))
	var attempts int
	start := time.Now()
	err := s.Update(t.Context(), func(tx lockbox.Tx) error {
		attempts++
		return fmt.Errorf("some use case: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
	})
	if lockbox.ErrorCodeOf(err) != lockbox.CodeConflict {
		t.Fatalf("Update after endless conflicts = %v, want a conflict", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Errorf("error %v does not keep PostgreSQL's", err)
	}
	if attempts < 5 || attempts > 20 {
		t.Errorf("%d attempts", attempts)
	}
	t.Logf("%d attempts in %s", attempts, time.Since(start).Round(time.Millisecond))
	// One retry, and no retry of other errors: storetest.Engines.
}

// PostgreSQL refuses text SQLite would store (NUL characters, invalid
// UTF-8); the caller gets ErrInvalid, not an internal error.
func TestTextPostgreSQLRefuses(t *testing.T) {
	s := open(t, pgtest.URL(t))
	ctx := t.Context()
	for _, name := range []string{"nul\x00byte", "bad \xff utf-8"} {
		tn := newTenant(lockbox.NewID("ten"))
		tn.Name = name
		err := s.Update(ctx, func(tx lockbox.Tx) error { return tx.CreateTenant(ctx, tn) })
		if lockbox.ErrorCodeOf(err) != lockbox.CodeInvalid {
			t.Errorf("CreateTenant named %q = %v, want an invalid-input error", name, err)
		}
	}
}

// backendPID finds the backend of a store's dedicated connection by its
// application_name.
func backendPID(t *testing.T, db *pgx.Conn, appName string) int32 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pid int32
		err := db.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) || time.Now().After(deadline) {
			t.Fatalf("backend of %s: %v", appName, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func terminate(t *testing.T, db *pgx.Conn, pid int32) {
	t.Helper()
	var ok bool
	if err := db.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

// uniqueApp returns a URL whose connections carry an application_name of
// their own, so the test can find them in pg_stat_activity.
func uniqueApp(url string) (string, string) {
	app := strings.ReplaceAll(lockbox.NewID("lbt"), "_", "-")
	return pgtest.WithParam(url, "application_name", app), app
}

// When the listener's connection is killed, it reconnects, sends watchers
// a Lost notice (events committed meanwhile were not heard), and notices
// flow again.
func TestListenerReconnects(t *testing.T) {
	url, app := uniqueApp(pgtest.URL(t))
	s := open(t, url)
	writer := open(t, url)
	ctx := t.Context()
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := admin(t, url)
	pid := backendPID(t, db, app+"-listener")
	terminate(t, db, pid)
	// An event committed while the listener is away.
	if err := writer.Update(ctx, func(tx lockbox.Tx) error {
		return tx.AppendEvent(ctx, lockbox.NewEvent("ten_1", lockbox.EventUserCreated, "", lockbox.SystemClock(), nil))
	}); err != nil {
		t.Fatal(err)
	}

	// Notices of that event may or may not arrive; Lost must.
	timeout := time.After(10 * time.Second)
	for lost := false; !lost; {
		select {
		case n := <-ch:
			lost = n.Lost
		case <-timeout:
			t.Fatal("no Lost notice within 10s of the listener's connection being killed")
		}
	}
	if again := backendPID(t, db, app+"-listener"); again == pid {
		t.Fatalf("the listener's backend is still %d", pid)
	}
	e := lockbox.NewEvent("ten_1", lockbox.EventUserUpdated, "", lockbox.SystemClock(), nil)
	if err := writer.Update(ctx, func(tx lockbox.Tx) error { return tx.AppendEvent(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case n := <-ch:
			if n.Type == e.Type {
				if n.Index != 1 || n.TenantID != "ten_1" {
					t.Fatalf("notice after reconnecting: %+v", n)
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no notice within 5s of an event committed after the listener reconnected")
		}
	}
}

// When the lease's connection is killed, fn's context ends, and the store
// takes the lease again (nobody else wants it) and runs fn anew.
func TestLeaseLostWithConnection(t *testing.T) {
	t.Parallel() // mostly waits
	url, app := uniqueApp(pgtest.URL(t))
	s := open(t, url)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runs := make(chan context.Context, 4)
	done := make(chan error, 1)
	go func() {
		done <- s.RunExclusive(ctx, "job", func(ctx context.Context) {
			runs <- ctx
			<-ctx.Done()
		})
	}()
	var first context.Context
	select {
	case first = <-runs:
	case <-time.After(10 * time.Second):
		t.Fatal("fn did not run")
	}
	db := admin(t, url)
	terminate(t, db, backendPID(t, db, app+"-lease"))
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("fn's context did not end within 5s of its lease's connection being killed")
	}
	select {
	case <-runs:
	case <-time.After(10 * time.Second):
		t.Fatal("the lease was not taken again after its connection was replaced")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunExclusive = %v, want context.Canceled", err)
	}
	// The lease was released: another store takes it at once.
	other := open(t, url)
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	ran := false
	_ = other.RunExclusive(ctx2, "job", func(ctx context.Context) { ran = true })
	if !ran {
		t.Fatal("the lease was not released when RunExclusive returned")
	}
}

// Installations in two schemas of one database do not hear each other's
// events or share leases.
func TestSchemasIsolated(t *testing.T) {
	a, b := open(t, pgtest.URL(t)), open(t, pgtest.URL(t))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Update(ctx, func(tx lockbox.Tx) error {
		return tx.AppendEvent(ctx, lockbox.NewEvent("ten_1", lockbox.EventUserCreated, "", lockbox.SystemClock(), nil))
	}); err != nil {
		t.Fatal(err)
	}
	// b's own event arrives; a's never does.
	if err := b.Update(ctx, func(tx lockbox.Tx) error {
		return tx.AppendEvent(ctx, lockbox.NewEvent("ten_2", lockbox.EventUserCreated, "", lockbox.SystemClock(), nil))
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-ch:
		if n.TenantID != "ten_2" {
			t.Fatalf("b's watcher heard %+v from another schema", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b's watcher heard nothing")
	}

	held := make(chan struct{})
	go func() {
		_ = a.RunExclusive(ctx, "job", func(ctx context.Context) {
			close(held)
			<-ctx.Done()
		})
	}()
	<-held
	ctx2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	ran := false
	_ = b.RunExclusive(ctx2, "job", func(ctx context.Context) { ran = true })
	if !ran {
		t.Fatal("a lease of another schema blocked this one")
	}
}

// Close ends Watch's listener and RunExclusive, and the store refuses new
// ones.
func TestClose(t *testing.T) {
	s := open(t, pgtest.URL(t))
	ctx := t.Context()
	if _, err := s.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		done <- s.RunExclusive(ctx, "job", func(ctx context.Context) {
			close(started)
			<-ctx.Done()
		})
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("RunExclusive after Close = %v, want the store's closing", err)
	}
	if _, err := s.Watch(ctx); err == nil {
		t.Error("Watch after Close succeeded")
	}
	if err := s.RunExclusive(ctx, "job", func(context.Context) { t.Error("fn ran after Close") }); err == nil {
		t.Error("RunExclusive after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
