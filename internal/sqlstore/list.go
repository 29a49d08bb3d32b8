package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Filter builds the WHERE clause of a query; conditions use ? placeholders.
type Filter struct {
	conds []string
	args  []any
}

// Add adds a condition and the arguments of its placeholders.
func (f *Filter) Add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

// Eq adds the condition column = v.
func (f *Filter) Eq(column string, v any) { f.Add(column+" = ?", v) }

// Where is the WHERE clause, or "" without conditions.
func (f *Filter) Where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.conds, " AND ")
}

// Args are the arguments of the conditions, in order.
func (f *Filter) Args() []any { return f.args }

// Each runs query (with ? placeholders) and calls scan on every row,
// collecting the results.
func Each[T any](ctx context.Context, d *Dialect, q Querier, query string, args []any,
	scan func(Row) (T, error),
) ([]T, error) {
	out := []T{}
	err := q.QueryEach(ctx, d.Q(query), args, func(r Row) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// ListPage runs a newest-first list query, paged by (created_at, id).
// selectFrom is "SELECT <columns> FROM <table>"; f holds the filters; the
// returned token is "" on the last page.
func ListPage[T any](ctx context.Context, d *Dialect, q Querier, what, selectFrom string, f Filter,
	page lockbox.Page, scan func(Row) (T, error), key func(T) (time.Time, string),
) ([]T, string, error) {
	page, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	if page.Token != "" {
		at, id, err := lockbox.DecodeCursor(page.Token)
		if err != nil {
			return nil, "", err
		}
		f.Add("(created_at, id) < (?, ?)", d.Time(at), id)
	}
	query := selectFrom + f.Where() + " ORDER BY created_at DESC, id DESC LIMIT ?"
	out, err := Each(ctx, d, q, query, append(f.args, page.Size+1), scan)
	if err != nil {
		return nil, "", fmt.Errorf("%s: list %s: %w", d.Name, what, err)
	}
	next := ""
	if len(out) > page.Size {
		out = out[:page.Size]
		at, id := key(out[len(out)-1])
		next = lockbox.EncodeCursor(at, id)
	}
	return out, next, nil
}

// Get reads the one row of query (with ? placeholders) for id; no row is
// a not-found error naming kind and id.
func Get[T any](ctx context.Context, d *Dialect, q Querier, kind, id, query string,
	scan func(Row) (T, error),
) (T, error) {
	v, err := scan(q.QueryRow(ctx, d.Q(query), id))
	if err != nil {
		var zero T
		if d.NoRows(err) {
			return zero, NotFound(kind, id)
		}
		return zero, fmt.Errorf("%s: get %s %s: %w", d.Name, kind, id, err)
	}
	return v, nil
}

// NotFound is the error of a Get on a missing row.
func NotFound(kind, id string) error {
	return lockbox.Errorf(lockbox.CodeNotFound, "%s %s not found", kind, id)
}

// Rows is a result being read: *sql.Rows and pgx.Rows both are.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// EachRow calls each on every row of rows, stopping at the first error;
// the caller closes rows.
func EachRow(rows Rows, each func(Row) error) error {
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
