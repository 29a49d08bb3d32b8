package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "lockbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pragmas reads the pragmas of one connection of db.
func pragmas(t *testing.T, ctx context.Context, conn *sql.Conn) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range []string{"journal_mode", "foreign_keys", "synchronous", "busy_timeout", "query_only"} {
		var v string
		if err := conn.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", p, err)
		}
		out[p] = v
	}
	return out
}

// The DSN really applies the pragmas durability and integrity depend on, on
// every connection.
func TestPragmas(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		db    *sql.DB
		conns int
		want  map[string]string
	}{
		{"writer", s.writer, 1, map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000", "query_only": "0",
		}},
		{"reader", s.reader, readerConns, map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000", "query_only": "1",
		}},
	} {
		// Hold several connections at once, so each is a distinct one.
		var conns []*sql.Conn
		for range tc.conns {
			c, err := tc.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			got := pragmas(t, ctx, c)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s connection %d: %s = %s, want %s", tc.name, i, k, got[k], want)
				}
			}
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}
	if n := s.writer.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}

// The writer's transactions begin IMMEDIATE: they take the write lock at
// BEGIN, so a read-then-write transaction cannot fail at its first write.
func TestWriterBeginsImmediate(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	// Another connection that does not wait cannot begin a write while tx
	// is open, though tx has not written anything yet.
	u := url.URL{Scheme: "file", Path: s.path, RawQuery: "_txlock=immediate&_pragma=busy_timeout(0)"}
	other, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otx, err := other.BeginTx(ctx, nil)
	if err == nil {
		_ = otx.Rollback()
		t.Fatal("a second BEGIN IMMEDIATE succeeded while the writer held a transaction without writing")
	}
	if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
		t.Fatalf("second BEGIN: %v, want SQLITE_BUSY", err)
	}
}

// The queries that run on every write or every tick use indexes.
func TestQueryPlans(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	for _, tc := range []struct {
		query string
		args  []any
		want  []string
	}{
		{`SELECT idx FROM events WHERE tenant_id = ? ORDER BY idx DESC LIMIT 1`, []any{"t"}, []string{"PRIMARY KEY"}},
		{`SELECT id FROM (
			SELECT id, decision_deadline AS due FROM requests
			WHERE status IN ('pending_internal', 'pending_customer') AND decision_deadline <= ?
			UNION ALL
			SELECT id, access_expires_at AS due FROM requests
			WHERE status = 'approved' AND access_expires_at <= ?
		) ORDER BY due, id LIMIT ?`, []any{"x", "x", 10}, []string{"requests_due_decision", "requests_due_access"}},
		{`SELECT tenant_id FROM events WHERE tenant_id = ? AND idx > ? AND request_id = ? ORDER BY idx`, []any{"t", -1, "r"}, []string{"events_request"}},
		{`SELECT id FROM requests WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT 4`, []any{"t"}, []string{"requests_tenant"}},
	} {
		rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		for _, w := range tc.want {
			if !strings.Contains(joined, w) {
				t.Errorf("plan of %q does not use %s: %s", tc.query, w, joined)
			}
		}
		if strings.Contains(joined, "SCAN requests") || strings.Contains(joined, "SCAN events") {
			t.Errorf("plan of %q scans a table: %s", tc.query, joined)
		}
	}
}
