// Package sqlstore is the SQL both stores share: the query text where the
// SQL is the same, the WHERE builder, keyset paging, row scanners and
// get-by-id. What differs between engines is a Dialect: placeholders, how
// times and JSON are stored and scanned, list predicates, and how "no row"
// is reported. Adding an engine means a Dialect, a Querier on its
// transaction, and a passing storetest suite.
package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Row is one result row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are.
type Row interface {
	Scan(dest ...any) error
}

// Querier runs queries and writes in an engine's transaction (or, for
// store-level reads, on its pool). Query text is already in the engine's
// placeholder form (see Dialect.Q).
type Querier interface {
	QueryRow(ctx context.Context, query string, args ...any) Row
	QueryEach(ctx context.Context, query string, args []any, each func(Row) error) error
	// Exec runs a write and returns the number of rows it touched.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Tx is the engine-independent part of a store transaction: an engine's
// transaction embeds it, with Q set to the transaction itself, and so
// implements the lockbox.Reader and lockbox.Tx methods Tx has.
type Tx struct {
	D *Dialect
	Q Querier
}

// Dialect is what differs between SQL engines. Use it by pointer: it
// caches rewritten query text.
type Dialect struct {
	// Name prefixes wrapped errors ("sqlite", "postgres").
	Name string
	// Numbered is true for $1, $2 … placeholders, false for ?.
	Numbered bool
	// AnyArray lists values as "column = ANY(?)" with one array argument
	// rather than "column IN (?, ?, …)".
	AnyArray bool
	// NoLimit is the LIMIT argument that means no limit.
	NoLimit any
	// Time encodes a time as a query argument.
	Time func(time.Time) any
	// TimeDest, NullTimeDest, JSONDest and TextDest return a scan
	// destination for a time, a nullable time (NULL is nil), a JSON column
	// decoded into p, and a nullable text (NULL is "").
	TimeDest     func(p *time.Time) any
	NullTimeDest func(p **time.Time) any
	JSONDest     func(p any) any
	TextDest     func(p *string) any
	// EmailIs is the condition, with one ?, that matches users.email
	// without regard to (ASCII) case, in the form its index serves.
	EmailIs string
	// CommentSeq orders comments as they were added.
	CommentSeq string
	// SkipLocked ends a SELECT … FOR UPDATE that skips rows other
	// transactions hold (" FOR UPDATE SKIP LOCKED"), or is empty where
	// writers are serial anyway.
	SkipLocked string
	// NoRows reports whether err means a query returned no row.
	NoRows func(error) bool
	// Unique reports whether err violates the unique index on
	// table.column.
	Unique func(err error, table, column string) bool
	// WriteErr turns the error of a write into what the service expects
	// (a taken ID is ErrConflict), or wraps it with what was being done:
	// op ("create", "update" …) on kind id.
	WriteErr func(err error, op, kind, id string) error

	queries sync.Map // query text with ? -> engine text
}

// Q returns query, written with ? placeholders, in the engine's form.
func (d *Dialect) Q(query string) string {
	if !d.Numbered {
		return query
	}
	if q, ok := d.queries.Load(query); ok {
		return q.(string)
	}
	q := Renumber(query)
	d.queries.Store(query, q)
	return q
}

// Renumber rewrites each ? outside quoted text as $1, $2 ….
func Renumber(query string) string {
	var b strings.Builder
	n := 0
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// NullTime encodes nil as NULL.
func (d *Dialect) NullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.Time(*t)
}

// Limit is the LIMIT argument of n; 0 or less means no limit.
func (d *Dialect) Limit(n int) any {
	if n <= 0 {
		return d.NoLimit
	}
	return n
}

// In returns the condition "column is one of vals" (vals not empty), with
// ? placeholders, and its arguments.
func (d *Dialect) In(column string, vals []string) (string, []any) {
	if d.AnyArray {
		return column + " = ANY(?)", []any{vals}
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return column + " IN (" + strings.Repeat("?, ", len(vals)-1) + "?)", args
}

// NullStr stores an empty string (an absent reference) as NULL.
func NullStr[T ~string](s T) any {
	if s == "" {
		return nil
	}
	return string(s)
}
