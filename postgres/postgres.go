// Package postgres implements lockbox.Store on PostgreSQL (pgx, no cgo). It is
// the engine for installations that outgrow one machine: any number of
// `lockbox serve` replicas share one database.
//
// What makes several replicas safe:
//
//   - Update runs fn in a REPEATABLE READ transaction and re-runs it on a
//     serialisation failure or deadlock.
//   - Each tenant's log has a head row that every append increments, so log
//     indexes are contiguous whichever replica appends. Every use case
//     appends to the log of the tenant it reads and changes (operator-wide
//     changes to the system log), so two changes of one tenant both write
//     that row: the later one fails its first-updater-wins check and runs
//     again on fresh data. Changes of one tenant are therefore serial, as
//     on SQLite, while changes of different tenants run in parallel.
//     SERIALIZABLE would add nothing to that but false conflicts: its
//     predicate locks on small tables and B-tree pages failed transactions
//     of unrelated tenants under load (10 retries were not enough at 8
//     concurrent tenants).
//   - Every appended event is announced with NOTIFY in its transaction (so
//     only when it commits); each Store keeps one listener connection and
//     fans the notices out to its watchers (Watch).
//   - RunExclusive elects one replica per named job with a session-level
//     advisory lock, which PostgreSQL drops when the holder's session dies.
//   - Open migrates the schema (goose) under an advisory lock, so replicas
//     starting together migrate exactly once.
//   - The tenant Merkle logs (tlog.Storage) move their tree heads, and the
//     shared secrets (the log signing key) their versions, by
//     compare-and-set in READ COMMITTED transactions: of two replicas, the
//     later finds the row changed and reports it (tlog.ErrHeadMoved,
//     lockbox.ErrConflict) instead of failing to serialise.
//
// LISTEN and session advisory locks need real sessions: point lockbox at
// PostgreSQL itself or at a session-mode pooler, not a transaction-mode one.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lockbox-dev/lockbox"

	"github.com/lockbox-dev/lockbox/internal/backoff"
)

// Store is a lockbox.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	// connConfig is the pool's connection configuration, which the
	// listener and lease connections copy: they live outside the pool so
	// they never compete with transactions for its connections.
	connConfig *pgx.ConnConfig
	// schema is the schema the tables live in (current_schema() of the
	// pool's connections). It scopes notices and lock keys, so several
	// installations can share a database.
	schema  string
	appName string

	log *slog.Logger

	notices  lockbox.NoticeBroker
	listener *listener

	// closing ends when Close is called: it stops the listener and every
	// RunExclusive, which Close then waits for (workers).
	closing  context.Context
	closeNow context.CancelFunc
	mu       sync.Mutex // guards closed, and workers.Add against Close
	closed   bool
	workers  sync.WaitGroup
}

var _ lockbox.Store = (*Store)(nil)

// Option changes how Open connects.
type Option func(*options)

type options struct {
	schema string
	log    *slog.Logger
}

// WithLogger sets where the Store reports what happens in the background:
// the event listener losing and regaining its connection, leases acquired,
// released and lost. The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithSchema keeps lockbox's tables (and goose's version table) in the
// named schema, which Open creates when it does not exist. It sets the
// search_path of every connection to that schema alone, so several
// installations, or tests, can share one database. Without it the
// search_path of the URL or of the role applies (usually "public").
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// defaultAppName is the application_name of lockbox's connections when the
// URL sets none; pg_stat_activity shows it. The listener and lease
// connections add "-listener" and "-lease".
const defaultAppName = "lockbox"

// Open connects to the database at url, migrates it to the current schema
// and returns a Store.
//
// url is a libpq-style URL or keyword/value string as pgx reads it, e.g.
//
//	postgres://lockbox:secret@db.example.com:5432/lockbox?sslmode=verify-full&pool_max_conns=20
//
// Parameters operators commonly need:
//
//   - sslmode (disable, prefer, require, verify-ca, verify-full), sslrootcert,
//     sslcert, sslkey: TLS to the server. Use verify-full in production;
//     pgx's default, prefer, does not authenticate the server.
//   - connect_timeout (seconds): how long a connection attempt may take.
//   - pool_max_conns (default the larger of 4 and the number of CPUs),
//     pool_min_conns, pool_max_conn_lifetime (e.g. 1h),
//     pool_max_conn_idle_time (e.g. 30m), pool_health_check_period (e.g.
//     1m): the transaction pool. Each Store also holds one listener
//     connection once Watch is used and one per running RunExclusive, outside
//     the pool; size max_connections for all replicas.
//   - application_name: shown in pg_stat_activity (default "lockbox"; the
//     listener and lease connections add "-listener" and "-lease").
//   - TimeZone: the sessions' time zone (default UTC). It changes no stored
//     or returned time, only how the server prints them.
//   - search_path: the schema lockbox's tables live in (or use WithSchema).
//   - target_session_attrs=read-write: with several hosts
//     (postgres://db1,db2/lockbox), connect to the primary.
//   - Any other parameter is sent as a run-time setting, e.g.
//     statement_timeout=30s or lock_timeout=10s.
//
// PGHOST, PGUSER, PGPASSWORD, PGSSLMODE and the other libpq environment
// variables fill in what url leaves out, as does ~/.pgpass.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	pool, o, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	schema, err := prepareSchema(ctx, pool, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool, schema); err != nil {
		pool.Close()
		return nil, err
	}
	closing, closeNow := context.WithCancel(context.Background())
	cc := pool.Config().ConnConfig
	s := &Store{
		pool:       pool,
		connConfig: cc,
		schema:     schema,
		appName:    cc.RuntimeParams["application_name"],
		log:        o.log,
		closing:    closing,
		closeNow:   closeNow,
	}
	s.listener = &listener{s: s}
	return s, nil
}

// connect parses url, applies the options and opens the pool. It checks the
// database answers, so a wrong URL fails at Open with the server's reason.
func connect(ctx context.Context, url string, opts []Option) (*pgxpool.Pool, options, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, o, fmt.Errorf("postgres: database URL: %w", err)
	}
	params := cfg.ConnConfig.RuntimeParams
	if params["application_name"] == "" {
		params["application_name"] = defaultAppName
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(params)), func(k string) bool { return strings.EqualFold(k, "TimeZone") }) {
		// Times travel as absolute instants whatever the zone; UTC makes
		// the rest agree, such as goose's applied-at times (a timestamp
		// without time zone) and times in server logs.
		params["TimeZone"] = "UTC"
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// Times come back in UTC, as every store returns them.
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, o, fmt.Errorf("postgres: connect to %s: %w", describe(cfg.ConnConfig), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, o, fmt.Errorf("postgres: connect to %s: %w", describe(cfg.ConnConfig), err)
	}
	return pool, o, nil
}

// describe names a database for error messages, without the password.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s:%d as %q", c.Database, c.Host, c.Port, c.User)
}

// prepareSchema creates the schema WithSchema names, when missing, and
// returns the schema the tables go into.
func prepareSchema(ctx context.Context, pool *pgxpool.Pool, o options) (string, error) {
	if o.schema != "" {
		// Replicas starting together would race to create the schema:
		// CREATE SCHEMA IF NOT EXISTS is not atomic. A transaction-level
		// advisory lock orders them.
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("schema", o.schema)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{o.schema}.Sanitize())
			return err
		})
		if err != nil {
			return "", fmt.Errorf("postgres: create schema %q: %w", o.schema, err)
		}
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("postgres: read the current schema: %w", err)
	}
	if schema == nil {
		var path string
		_ = pool.QueryRow(ctx, `SHOW search_path`).Scan(&path)
		return "", fmt.Errorf("postgres: no schema of the search_path %q exists: create it, or name an existing one with search_path in the URL", path)
	}
	return *schema, nil
}

// lockKey is the advisory lock key named by parts: the first names
// lockbox's use of the lock, the others what it locks, including the schema
// when installations sharing a database must not block each other.
func lockKey(parts ...string) int64 {
	h := fnv.New64a()
	for _, s := range append([]string{"lockbox"}, parts...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// Schema returns the schema lockbox's tables live in.
func (s *Store) Schema() string { return s.schema }

// SchemaVersion returns the version of the last migration applied to the
// database and the version of the newest migration this binary knows. They
// are equal after Open.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	return schemaVersion(ctx, s.pool)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close stops the listener and every RunExclusive of this Store (their
// functions' contexts end, and their leases pass to other replicas), then
// closes the pool. Calling it again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.closeNow()
	s.workers.Wait()
	s.pool.Close()
	return nil
}

// addWorker registers a background task that Close must wait for, unless
// the Store is closed.
func (s *Store) addWorker() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.workers.Add(1)
	return nil
}

// Retry policy of Update: serialisation failures are expected under
// contention (two use cases changing the same rows, or appending to the same
// log), so fn is re-run after a short, growing, jittered pause.
const (
	maxAttempts  = 10
	firstBackoff = 4 * time.Millisecond
	maxBackoff   = time.Second
)

// View runs fn in a read-only REPEATABLE READ transaction: every read sees
// the state committed when its first query ran.
func (s *Store) View(ctx context.Context, fn func(lockbox.Reader) error) (err error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read transaction: %w", err)
	}
	defer rollback(ctx, pgTx) // a read transaction has nothing to commit
	return fn(newTx(pgTx, s.schema))
}

// Update runs fn in a REPEATABLE READ transaction, committing when fn
// returns nil. When PostgreSQL aborts the transaction for a serialisation failure
// or a deadlock (in fn's statements or at commit), fn runs again in a new
// transaction, up to maxAttempts times; it must therefore have no effects
// outside tx. A panic in fn rolls back and is re-raised.
func (s *Store) Update(ctx context.Context, fn func(lockbox.Tx) error) error {
	pause := backoff.Backoff{Policy: backoff.Policy{Min: firstBackoff, Max: maxBackoff, Jitter: 0.5}}
	for attempt := 1; ; attempt++ {
		retry, err := s.attempt(ctx, fn)
		if err == nil || !retry {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("%w (%d attempts; last: %w)", lockbox.Errorf(lockbox.CodeConflict,
				"the change kept conflicting with concurrent changes: try again"), attempt, err)
		}
		if !sleep(ctx, pause.Next()) {
			return fmt.Errorf("postgres: retrying a conflicting transaction: %w", context.Cause(ctx))
		}
	}
}

// attempt runs fn in one transaction. retry reports that the transaction
// failed on a serialisation conflict, so running fn again may succeed.
func (s *Store) attempt(ctx context.Context, fn func(lockbox.Tx) error) (retry bool, err error) {
	pgTx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return false, fmt.Errorf("postgres: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, pgTx)
		}
	}()
	t := newTx(pgTx, s.schema)
	if err := fn(t); err != nil {
		// fn may have wrapped the failure beyond recognition, or failed
		// on a statement after an earlier one aborted the transaction:
		// the first failed statement decides.
		return isRetryable(err) || isRetryable(t.failed), err
	}
	if t.failed != nil {
		// fn ignored a failed statement; the transaction is aborted.
		return isRetryable(t.failed),
			fmt.Errorf("postgres: a statement failed, so the transaction was rolled back: %w", t.failed)
	}
	if err := pgTx.Commit(ctx); err != nil {
		return isRetryable(err), fmt.Errorf("postgres: commit: %w", err)
	}
	committed = true
	return false, nil
}

// rollback ends a transaction that will not commit. It runs even when ctx
// is canceled, so the connection goes back to the pool clean.
func rollback(ctx context.Context, t pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = t.Rollback(ctx)
}

// SQLSTATE codes the store reacts to.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeCharNotInRepertoire  = "22021" // invalid UTF-8, or a NUL character
	codeUntranslatableChar   = "22P05"
)

// isRetryable reports whether err is a conflict that running the whole
// transaction again may not meet.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected
	}
	return false
}
