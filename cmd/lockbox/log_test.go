package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/postgres/pgtest"
	"github.com/lockbox-dev/lockbox/tlog"
)

const logTestBoot = "bootstrap-token-for-the-log-test-0123456789"
const logTestSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// logWorld is a server whose tenant log has some history, and raw access to
// its database, as an attacker with the database would have.
type logWorld struct {
	t       *testing.T
	engine  string
	dataDir string
	dbURL   string
	srv     *app.Server
	url     string
	tenant  lockbox.TenantID
	h       *harness
}

func newLogWorld(t *testing.T, engine string) *logWorld {
	t.Helper()
	w := &logWorld{t: t, engine: engine, dataDir: t.TempDir()}
	if engine == "postgres" {
		w.dbURL = pgtest.URL(t)
	}
	w.start()
	ctx := context.Background()
	svc := w.srv.Service
	op, err := svc.Authenticate(ctx, logTestBoot)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := svc.CreateTenant(ctx, op, lockbox.CreateTenantInput{Name: "Logged"})
	if err != nil {
		t.Fatal(err)
	}
	w.tenant = tn.ID
	admin, err := svc.SeedUser(ctx, op, lockbox.CreateUserInput{Email: "adm@logged.example", DisplayName: "adm",
		Kind: lockbox.KindCustomer, TenantID: tn.ID, Roles: []lockbox.Role{lockbox.RoleTenantAdmin}}, "password-0123456")
	if err != nil {
		t.Fatal(err)
	}
	p := &lockbox.Principal{User: admin, AMR: []string{"pwd"}}
	for i := range 6 {
		tk, err := svc.CreateTicket(ctx, p, lockbox.CreateTicketInput{TenantID: tn.ID, Title: fmt.Sprintf("ticket %d", i), Severity: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddComment(ctx, p, tk.ID, lockbox.CommentInput{Body: "more detail"}); err != nil {
			t.Fatal(err)
		}
	}
	w.integrate()
	return w
}

// start (re)starts the server on the world's database.
func (w *logWorld) start() {
	w.t.Helper()
	srv, err := app.New(context.Background(), app.Config{DataDir: w.dataDir, DatabaseURL: w.dbURL, SecretKey: logTestSecret,
		BootstrapToken: logTestBoot, Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		w.t.Fatal(err)
	}
	hs := httptest.NewServer(srv.API)
	w.t.Cleanup(func() { hs.Close(); srv.Close() })
	w.srv, w.url = srv, hs.URL
	w.h = newHarness(w.t)
	w.h.env["LOCKBOX_SERVER"] = hs.URL
	w.h.env["LOCKBOX_TOKEN"] = logTestBoot
}

func (w *logWorld) integrate() {
	w.t.Helper()
	if err := w.srv.IntegrateLogs(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// sql runs statements on the database behind the server's back. Its
// append-only triggers are disabled first: the attacker owns the database.
func (w *logWorld) sql(q string, args ...any) {
	w.t.Helper()
	ctx := context.Background()
	if w.engine == "postgres" {
		conn, err := pgx.Connect(ctx, w.dbURL)
		if err != nil {
			w.t.Fatal(err)
		}
		defer conn.Close(ctx)
		for i := range args {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i+1), 1)
		}
		for _, tbl := range []string{"events", "tree_nodes"} {
			if _, err := conn.Exec(ctx, "ALTER TABLE "+tbl+" DISABLE TRIGGER USER"); err != nil {
				w.t.Fatal(err)
			}
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			w.t.Fatalf("%s: %v", q, err)
		}
		return
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.dataDir, "lockbox.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	for _, trg := range []string{"events_no_update", "events_no_delete", "tree_nodes_no_update", "tree_nodes_no_delete"} {
		if _, err := db.Exec("DROP TRIGGER IF EXISTS " + trg); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := db.Exec(q, args...); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
}

// leaf reads the stored leaf of an entry.
func (w *logWorld) leaf(idx int64) []byte {
	w.t.Helper()
	var got []byte
	err := w.srv.Service.Store().View(context.Background(), func(r lockbox.Reader) error {
		evs, err := r.ListEvents(context.Background(), lockbox.EventFilter{TenantID: w.tenant, After: idx - 1, Limit: 1})
		if err == nil && len(evs) == 1 {
			got = evs[0].Leaf
		}
		return err
	})
	if err != nil || got == nil {
		w.t.Fatalf("leaf %d: %v", idx, err)
	}
	return got
}

func (w *logWorld) verify(args ...string) result {
	w.t.Helper()
	return w.h.run(append([]string{"log", "verify", "--tenant", string(w.tenant)}, args...)...)
}

// TestLogVerify checks that `lockbox log verify` accepts an honest log and
// detects every way of tampering with the stored log, on both engines.
func TestLogVerify(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testLogVerify(t, engine) })
	}
}

func testLogVerify(t *testing.T, engine string) {
	t.Run("honest", func(t *testing.T) {
		w := newLogWorld(t, engine)
		state := filepath.Join(t.TempDir(), "state.json")
		r := w.verify("--state", state)
		if r.code != 0 || !strings.Contains(r.stdout, "verified") {
			t.Fatalf("honest log: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// More history, then an incremental run from the state file.
		ctx := context.Background()
		op, _ := w.srv.Service.Authenticate(ctx, logTestBoot)
		if _, err := w.srv.Service.CreateTicket(ctx, op, lockbox.CreateTicketInput{TenantID: w.tenant, Title: "later", Severity: 4}); err != nil {
			t.Fatal(err)
		}
		w.integrate()
		r = w.verify("--state", state)
		if r.code != 0 || !strings.Contains(r.stdout, "extends the") {
			t.Fatalf("incremental run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}

		// The export is one JSON event per line, every event, in order; show
		// filters by type.
		lines := strings.Split(strings.TrimSpace(w.h.ok("log", "export", string(w.tenant))), "\n")
		if len(lines) != 15 {
			t.Fatalf("export: %d lines, want the 15 events", len(lines))
		}
		for i, l := range lines {
			var e lockbox.Event
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.Index != int64(i) || e.TenantID != w.tenant {
				t.Fatalf("export line %d: %v %s", i, err, l)
			}
		}
		if tail := w.h.ok("log", "export", string(w.tenant), "--after", "12"); strings.Count(tail, "\n") != 2 {
			t.Fatalf("export --after 12: %q", tail)
		}
		var shown lockbox.List[*lockbox.Event]
		if err := json.Unmarshal([]byte(w.h.ok("-o", "json", "log", "show", string(w.tenant), "--type", "ticket.commented")), &shown); err != nil {
			t.Fatal(err)
		}
		if len(shown.Items) != 6 {
			t.Fatalf("show --type ticket.commented: %d events, want 6", len(shown.Items))
		}
		for _, e := range shown.Items {
			if e.Type != lockbox.EventTicketCommented {
				t.Fatalf("show --type returned a %s", e.Type)
			}
		}
	})
	// Damage to the entries: a verifier that checks the log from scratch
	// names the first bad entry.
	damage := []struct {
		name   string
		attack func(w *logWorld)
		want   string
	}{
		{"flipped byte", func(w *logWorld) {
			l := w.leaf(5)
			l = bytes.Replace(l, []byte("ticket"), []byte("tickeT"), 1)
			w.sql("UPDATE events SET leaf = ? WHERE tenant_id = ? AND idx = ?", l, string(w.tenant), 5)
		}, "entry 5"},
		{"deleted row", func(w *logWorld) {
			w.sql("DELETE FROM events WHERE tenant_id = ? AND idx = ?", string(w.tenant), 4)
		}, "entry 4"},
		{"reordered rows", func(w *logWorld) {
			a, b := w.leaf(3), w.leaf(7)
			w.sql("UPDATE events SET leaf = ? WHERE tenant_id = ? AND idx = ?", b, string(w.tenant), 3)
			w.sql("UPDATE events SET leaf = ? WHERE tenant_id = ? AND idx = ?", a, string(w.tenant), 7)
		}, "entry 3"},
		{"truncated", func(w *logWorld) {
			w.sql("DELETE FROM events WHERE tenant_id = ? AND idx >= ?", string(w.tenant), 10)
		}, "entry 10"},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			w := newLogWorld(t, engine)
			if r := w.verify(); r.code != 0 {
				t.Fatalf("before the attack: exit %d: %s", r.code, r.stderr)
			}
			d.attack(w)
			r := w.verify()
			if r.code == 0 {
				t.Fatalf("verify passed:\n%s", r.stdout)
			}
			if !strings.Contains(r.stderr, d.want) || !strings.Contains(r.stderr, "FAILED") {
				t.Fatalf("stderr does not say %q:\n%s", d.want, r.stderr)
			}
		})
	}

	// A history that changed under a verifier that keeps its state: the
	// log shrank, or was rewritten and re-signed.
	history := []struct {
		name   string
		attack func(w *logWorld)
		want   []string
	}{
		{"rolled back", func(w *logWorld) {
			root, err := tlog.RootAt(context.Background(), w.srv.LogStore(), string(w.tenant), 9)
			if err != nil {
				w.t.Fatal(err)
			}
			w.sql("DELETE FROM events WHERE tenant_id = ? AND idx >= ?", string(w.tenant), 9)
			w.sql("UPDATE tree_heads SET size = ?, root = ? WHERE log = ?", 9, root, string(w.tenant))
		}, []string{"shrank", "LOG ROLLED BACK"}},
		{"forked", func(w *logWorld) {
			l := w.leaf(2)
			l = bytes.Replace(l, []byte("ticket"), []byte("Ticket"), 1)
			w.sql("UPDATE events SET leaf = ? WHERE tenant_id = ? AND idx = ?", l, string(w.tenant), 2)
			w.sql("DELETE FROM tree_nodes WHERE log = ?", string(w.tenant))
			w.sql("DELETE FROM tree_heads WHERE log = ?", string(w.tenant))
			w.integrate() // the server re-signs a tree over the rewritten history
		}, []string{"forked", "LOG FORKED"}},
		{"another key", func(w *logWorld) {
			w.sql("DELETE FROM secrets WHERE name = ?", "log-signing-key")
			w.start() // a new key is made and signs from now on
		}, []string{"trusts the log key"}},
	}
	for _, hc := range history {
		t.Run(hc.name, func(t *testing.T) {
			w := newLogWorld(t, engine)
			state := filepath.Join(t.TempDir(), "state.json")
			r := w.verify("--state", state)
			if r.code != 0 {
				t.Fatalf("before the attack: exit %d: %s", r.code, r.stderr)
			}
			var st tlog.State
			b, _ := os.ReadFile(state)
			if err := json.Unmarshal(b, &st); err != nil || st.Size == 0 {
				t.Fatalf("state file: %v %s", err, b)
			}
			hc.attack(w)
			r = w.verify("--state", state)
			if r.code == 0 {
				t.Fatalf("verify passed:\n%s", r.stdout)
			}
			for _, want := range hc.want {
				if !strings.Contains(r.stderr, want) {
					t.Fatalf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if after, _ := os.ReadFile(state); !bytes.Equal(after, b) {
				t.Fatal("a failed verification changed the state file")
			}
		})
	}

	// A checkpoint signed by another key than the one pinned with --key.
	t.Run("pinned key", func(t *testing.T) {
		w := newLogWorld(t, engine)
		var key tlog.KeyResponse
		if err := json.Unmarshal([]byte(w.h.ok("-o", "json", "log", "key")), &key); err != nil {
			t.Fatal(err)
		}
		if r := w.verify("--key", key.Key); r.code != 0 {
			t.Fatalf("with the pinned key: %s", r.stderr)
		}
		w.sql("DELETE FROM secrets WHERE name = ?", "log-signing-key")
		w.start()
		r := w.verify("--key", key.Key)
		if r.code == 0 || !strings.Contains(r.stderr, "FAILED") {
			t.Fatalf("a checkpoint signed by another key passed: %d %s", r.code, r.stderr)
		}
	})
}
