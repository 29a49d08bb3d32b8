// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server named by LOCKBOX_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), dropped when the
// test ends. Any package's tests can then run lockbox on PostgreSQL, e.g.
//
//	srv, err := app.New(ctx, app.Config{DatabaseURL: pgtest.URL(t)})
//
// When the server cannot be reached the test is skipped, unless the CI
// environment variable is set: then it fails, so a CI job without its
// database never passes by skipping every PostgreSQL test.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the test server.
const EnvURL = "LOCKBOX_TEST_POSTGRES"

// DefaultURL is the test server when EnvURL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// schemaPrefix starts every test schema's name, followed by the Unix time
// it was made at, so schemas that crashed tests left behind can be found
// and dropped.
const schemaPrefix = "lockbox_test_"

// BaseURL returns the URL of the test database, without a schema. It skips
// or fails t (see the package documentation) when the server does not
// answer.
func BaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		base = DefaultURL
	}
	// The server is probed once per test binary: a server that does not
	// answer would otherwise cost every test a connection timeout.
	probeOnce.Do(func() { probeErr = probe(base) })
	if probeErr != nil {
		unavailable(t, base, probeErr)
	}
	return base
}

var (
	probeOnce sync.Once
	probeErr  error
)

// probe checks that the server answers, and drops the schemas crashed test
// runs left behind.
func probe(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if err := conn.Ping(ctx); err != nil {
		return err
	}
	sweep(ctx, conn)
	return nil
}

func unavailable(t testing.TB, base string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL test server %s: %v (CI is set: PostgreSQL tests must run, not skip)", redact(base), err)
	}
	t.Skipf("PostgreSQL test server %s unavailable, skipping: %v (set %s to run these tests)", redact(base), err, EnvURL)
}

// URL returns the URL of a new, empty schema on the test database: its
// search_path names the schema, so lockbox's tables and goose's version
// table are created there. The schema is dropped, with everything in it,
// when the test ends (after the cleanups registered later, such as closing
// a store).
func URL(t testing.TB) string {
	t.Helper()
	u, _ := Schema(t)
	return u
}

// Schema is URL that also returns the schema's name.
func Schema(t testing.TB) (url, schema string) {
	t.Helper()
	base := BaseURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = schemaPrefix + strconv.FormatInt(time.Now().Unix(), 10) + "_" + hex.EncodeToString(b[:])
	exec(t, base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() {
		// A connection a failed test leaked may still lock a table: give
		// up after a while rather than hang.
		exec(t, base, "SET lock_timeout = '10s'; DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	return WithSearchPath(base, schema), schema
}

// WithSearchPath returns the database URL (or keyword/value string) with
// search_path set to schema.
func WithSearchPath(base, schema string) string { return WithParam(base, "search_path", schema) }

// WithParam returns the database URL (or keyword/value string) with the
// parameter set, such as application_name or a run-time setting.
func WithParam(base, key, value string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err == nil {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return base + " " + key + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value) + "'"
}

func exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL test server %s: %v", redact(base), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// sweep drops test schemas more than a day old: left behind by test
// binaries that were killed before their cleanups ran.
func sweep(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, schemaPrefix)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-24 * time.Hour).Unix()
	for _, name := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(name, schemaPrefix), "_")
		if at, err := strconv.ParseInt(stamp, 10, 64); err == nil && at < cutoff {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
		}
	}
}

// redact hides a password in a URL for messages.
func redact(base string) string {
	if u, err := url.Parse(base); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	if strings.Contains(base, "password=") {
		return "(a connection string with a password)"
	}
	return base
}
