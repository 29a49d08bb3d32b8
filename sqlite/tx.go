package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// tx implements lockbox.Tx (and so lockbox.Reader) on one SQL transaction.
// View hands it out as a Reader on a query_only connection.
type tx struct {
	sqlstore.Tx // the SQL both engines share
	tx          *sql.Tx
	stmts       *stmtCache
	// notices are the events appended in this transaction, announced to
	// watchers once it commits.
	notices []lockbox.EventNotice
	// next caches the next index of each log appended to in this
	// transaction.
	next map[lockbox.TenantID]int64
}

var _ lockbox.Tx = (*tx)(nil)

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmts.get(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// stmtCache keeps one prepared statement per query text for a pool, so
// SQLite parses a query once per connection rather than once per use
// (database/sql reuses a pool statement on every connection that already
// prepared it). A query seen for the first time runs unprepared and is
// prepared after its transaction ends: preparing needs a free connection,
// and the writer's only connection is busy during the transaction.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement of a query, or nil when it is not
// prepared yet (it is then marked to be prepared).
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[query]
	if !ok {
		c.pending[query] = true
	}
	return st
}

// preparePending prepares the queries seen since the last call. It must run
// outside any transaction of the pool.
func (c *stmtCache) preparePending(ctx context.Context) {
	c.mu.Lock()
	var queries []string
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	// Without the lock: preparing waits for a free connection, which a
	// transaction calling get may hold.
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared; the error shows where it runs
		}
		c.mu.Lock()
		if old, ok := c.m[q]; ok {
			_ = old.Close()
		}
		c.m[q] = st
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = map[string]*sql.Stmt{}
	return errors.Join(errs...)
}

// timeFormat is how times are stored: fixed width and UTC, so that string
// order is time order. Times keep microseconds, as lockbox.SystemClock does.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// timeCol scans a stored time into a time.Time in UTC.
type timeCol struct{ p *time.Time }

func (c timeCol) Scan(v any) error {
	s, ok := textOf(v)
	if !ok {
		return fmt.Errorf("stored time: unexpected %T", v)
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*c.p = t
	return nil
}

// nullTimeCol scans a nullable stored time; NULL is nil.
type nullTimeCol struct{ p **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.p = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.p = &t
	return nil
}

// jsonCol scans JSON text into the value p points to.
type jsonCol struct{ p any }

func (c jsonCol) Scan(v any) error {
	s, ok := textOf(v)
	if !ok {
		return fmt.Errorf("stored JSON: unexpected %T", v)
	}
	if err := json.Unmarshal([]byte(s), c.p); err != nil {
		return fmt.Errorf("stored JSON: %w", err)
	}
	return nil
}

// strCol scans a nullable text column into a string type; NULL is "".
type strCol[T ~string] struct{ p *T }

func (c strCol[T]) Scan(v any) error {
	if v == nil {
		*c.p = ""
		return nil
	}
	s, ok := textOf(v)
	if !ok {
		return fmt.Errorf("stored text: unexpected %T", v)
	}
	*c.p = T(s)
	return nil
}

func textOf(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation, and
// returns SQLite's message, which names the columns.
func isUnique(err error) (string, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return e.Error(), true
		}
	}
	return "", false
}

// duplicate turns a uniqueness violation on an entity's ID into ErrConflict
// and wraps any other error with what was being done.
func duplicate(err error, kind, id string) error {
	if msg, ok := isUnique(err); ok && strings.Contains(msg, ".id") {
		return lockbox.Errorf(lockbox.CodeConflict, "%s %s already exists", kind, id)
	}
	return fmt.Errorf("sqlite: create %s %s: %w", kind, id, err)
}

// dialect is SQLite's: ? placeholders, times as fixed-width UTC text,
// JSON as text.
var dialect = &sqlstore.Dialect{
	Name:         "sqlite",
	NoLimit:      -1,
	Time:         func(t time.Time) any { return fmtTime(t) },
	TimeDest:     func(p *time.Time) any { return timeCol{p} },
	NullTimeDest: func(p **time.Time) any { return nullTimeCol{p} },
	JSONDest:     func(p any) any { return jsonCol{p} },
	TextDest:     func(p *string) any { return strCol[string]{p} },
	NoRows:       func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
	// The e-mail column is COLLATE NOCASE.
	EmailIs:    "email = ?",
	CommentSeq: "rowid",
	Unique: func(err error, table, column string) bool {
		msg, ok := isUnique(err)
		return ok && strings.Contains(msg, table+"."+column)
	},
	WriteErr: func(err error, op, kind, id string) error {
		if op == "create" {
			return duplicate(err, kind, id)
		}
		return fmt.Errorf("sqlite: %s %s %s: %w", op, kind, id, err)
	},
}

// newTx starts the store's view of one SQL transaction.
func newTx(sqlTx *sql.Tx, stmts *stmtCache) *tx {
	t := &tx{tx: sqlTx, stmts: stmts}
	t.Tx = sqlstore.Tx{D: dialect, Q: querier{t}}
	return t
}

// querier is a transaction as sqlstore runs it. Its methods are not the
// transaction's own, so no code holding a lockbox.Tx or lockbox.Reader can
// reach raw SQL by asserting it to an interface.
type querier struct{ t *tx }

// Exec implements sqlstore.Querier.
func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	t := q.t
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueryRow and QueryEach implement sqlstore.Querier.
func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	t := q.t
	return t.queryRow(ctx, query, args...)
}

func (q querier) QueryEach(ctx context.Context, query string, args []any, each func(sqlstore.Row) error) error {
	t := q.t
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return sqlstore.EachRow(rows, each)
}
