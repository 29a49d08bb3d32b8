package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// tx implements lockbox.Tx (and so lockbox.Reader) on one pgx transaction.
// View hands it out as a Reader on a READ ONLY transaction, where writes
// fail.
type tx struct {
	sqlstore.Tx // the SQL both engines share
	tx          pgx.Tx
	schema      string
	// failed is the first statement error PostgreSQL reported. After it the
	// transaction is aborted; Update decides from it whether to re-run fn,
	// whatever fn made of the error.
	failed error
}

var _ lockbox.Tx = (*tx)(nil)

// note records a statement's error and returns it.
func (t *tx) note(err error) error {
	var pgErr *pgconn.PgError
	if t.failed == nil && errors.As(err, &pgErr) {
		t.failed = err
	}
	return err
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	return tag, t.note(err)
}

// row runs a query expected to return at most one row; its Scan returns
// pgx.ErrNoRows when there is none.
func (t *tx) row(ctx context.Context, query string, args ...any) pgx.Row {
	return notedRow{t: t, row: t.tx.QueryRow(ctx, query, args...)}
}

// notedRow records the error of its Scan in its transaction.
type notedRow struct {
	t   *tx
	row pgx.Row
}

func (r notedRow) Scan(dest ...any) error { return r.t.note(r.row.Scan(dest...)) }

// queryEach runs a query and calls scan on every row.
func (t *tx) queryEach(ctx context.Context, query string, args []any, scan func(pgx.Rows) error) error {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return t.note(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return t.note(err)
		}
	}
	return t.note(rows.Err())
}

// ts is a time as the store keeps it: UTC, truncated to microseconds as the
// SQLite store does (PostgreSQL would round).
func ts(v time.Time) time.Time { return v.UTC().Truncate(time.Microsecond) }

// strCol scans a nullable text column into a string type; NULL is "".
type strCol[T ~string] struct{ p *T }

// ScanText implements pgtype.TextScanner.
func (c strCol[T]) ScanText(v pgtype.Text) error {
	*c.p = T(v.String) // "" when NULL
	return nil
}

// pgError returns the PostgreSQL error in err's chain, if any.
func pgError(err error) (*pgconn.PgError, bool) {
	var pgErr *pgconn.PgError
	ok := errors.As(err, &pgErr)
	return pgErr, ok
}

// violates reports whether err is a violation of the named unique
// constraint or index.
func violates(err error, constraint string) bool {
	e, ok := pgError(err)
	return ok && e.Code == codeUniqueViolation && e.ConstraintName == constraint
}

// writeErr turns the error of a write into what the service expects: a
// taken primary key is ErrConflict, text PostgreSQL cannot store is
// ErrInvalid, anything else is wrapped with what was being done.
func writeErr(err error, op, kind, id string) error {
	if violates(err, kind+"s_pkey") {
		return lockbox.Errorf(lockbox.CodeConflict, "%s %s already exists", kind, id)
	}
	if e, ok := pgError(err); ok && (e.Code == codeCharNotInRepertoire || e.Code == codeUntranslatableChar) {
		// SQLite stores any string; PostgreSQL text refuses NUL characters
		// and invalid UTF-8. Say so rather than fail with a 500.
		return fmt.Errorf("%w: %w", lockbox.Errorf(lockbox.CodeInvalid,
			"%s %s: text must be valid UTF-8 without NUL characters", kind, id), err)
	}
	return fmt.Errorf("postgres: %s %s %s: %w", op, kind, id, err)
}

// dialect is PostgreSQL's: $n placeholders, timestamptz and jsonb scanned
// by pgx, lists as = ANY($n).
var dialect = &sqlstore.Dialect{
	Name:         "postgres",
	Numbered:     true,
	AnyArray:     true,
	NoLimit:      nil, // LIMIT NULL: no limit
	Time:         func(v time.Time) any { return ts(v) },
	TimeDest:     func(p *time.Time) any { return p },
	NullTimeDest: func(p **time.Time) any { return p },
	JSONDest:     func(p any) any { return p },
	TextDest:     func(p *string) any { return strCol[string]{p} },
	NoRows:       func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
	// lower(email), as the unique index users_email has it, so the lookup
	// uses that index.
	EmailIs:    "lower(email) = lower(?)",
	CommentSeq: "seq",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	Unique: func(err error, table, column string) bool {
		return violates(err, uniqueIndexes[table+"."+column])
	},
	WriteErr: writeErr,
}

// uniqueIndexes names the unique constraint or index on each column the
// store tells conflicts of.
var uniqueIndexes = map[string]string{
	"users.email":         "users_email",
	"credentials.hash":    "credentials_hash",
	"reviews.reviewer_id": "reviews_one_per_reviewer",
}

// newTx starts the store's view of one pgx transaction.
func newTx(pgTx pgx.Tx, schema string) *tx {
	t := &tx{tx: pgTx, schema: schema}
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
	tag, err := t.exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// QueryRow and QueryEach implement sqlstore.Querier.
func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	t := q.t
	return t.row(ctx, query, args...)
}

func (q querier) QueryEach(ctx context.Context, query string, args []any, each func(sqlstore.Row) error) error {
	t := q.t
	return t.queryEach(ctx, query, args, func(r pgx.Rows) error { return each(r) })
}

// poolQuerier runs sqlstore's queries on the pool, each in a transaction of
// its own.
type poolQuerier struct{ pool *pgxpool.Pool }

func (p poolQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return p.pool.QueryRow(ctx, query, args...)
}

func (p poolQuerier) QueryEach(ctx context.Context, query string, args []any, each func(sqlstore.Row) error) error {
	rows, err := p.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return sqlstore.EachRow(rows, each)
}

func (p poolQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.pool.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}
