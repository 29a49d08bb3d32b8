// Package sqlite implements lockbox.Store on an embedded SQLite database
// (modernc.org/sqlite, no cgo). It is lockbox's default engine.
//
// A Store holds two connection pools on the same file. The writer has a
// single connection whose transactions begin with BEGIN IMMEDIATE, so
// read-write transactions are serialised (in this process by the pool, across
// processes by SQLite's write lock) and never fail halfway with SQLITE_BUSY.
// The reader pool serves View; in WAL mode readers see the last committed
// state and never wait for the writer. Commits are durable: the database runs
// with journal_mode=WAL and synchronous=FULL.
//
// The Store also keeps the tenant Merkle logs (tlog.Storage, over the events
// table) and the shared secrets. The database file, and its -wal and -shm
// files, are readable by their owner only: they hold the secrets.
//
// The schema is versioned with goose migrations embedded in the binary and
// applied by Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lockbox-dev/lockbox"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is a lockbox.Store on a SQLite database file.
type Store struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	// Prepared statements, one cache per pool: SQLite parses a query once
	// per connection instead of once per use.
	writeStmts, readStmts *stmtCache
	notices               lockbox.NoticeBroker
}

var _ lockbox.Store = (*Store)(nil)

// readerConns is the size of the reader pool. Readers do not block each other
// or the writer in WAL mode.
const readerConns = 4

// busyTimeoutMillis is how long a connection waits for a lock another
// process holds before it reports SQLITE_BUSY.
const busyTimeoutMillis = 10000

// Open opens (creating if needed) the database at path, with its directory,
// and migrates it to the current schema.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: no database path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: database path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create the database directory: %w", err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, err
	}

	writer, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	// One connection: in-process writers queue in the pool instead of
	// contending for SQLite's lock.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s := &Store{path: abs, writer: writer, writeStmts: newStmtCache(writer)}
	if err := writer.PingContext(ctx); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = writer.Close()
		return nil, err
	}
	// The writer put the file in WAL mode, so the -wal and -shm files
	// exist now. SQLite creates them with the database file's permissions,
	// but ones a crashed process left behind keep theirs.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := restrictFile(abs + suffix); err != nil {
			_ = writer.Close()
			return nil, err
		}
	}

	// The reader pool opens once the file is in WAL mode and migrated.
	reader, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", abs, err)
	}
	reader.SetMaxOpenConns(readerConns)
	reader.SetMaxIdleConns(readerConns)
	reader.SetConnMaxIdleTime(0)
	s.reader = reader
	s.readStmts = newStmtCache(reader)
	if err := reader.PingContext(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", abs, err)
	}
	return s, nil
}

// privatePerm is the mode of the database file and of its -wal and -shm
// files: they hold the secrets (lockbox.Store.GetSecret), password hashes
// and credential hashes, so only the owner may read them.
const privatePerm fs.FileMode = 0o600

// createPrivate creates the database file, empty, with privatePerm when it
// does not exist (SQLite would create it with 0644 less the umask), or
// restricts the permissions of an existing one. SQLite gives the -wal and
// -shm files it creates the database file's permissions.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, privatePerm)
	if err != nil {
		return fmt.Errorf("sqlite: create the database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: create the database file: %w", err)
	}
	return restrictFile(path)
}

// restrictFile removes the permissions beyond privatePerm from a file, if it
// exists: a database created by an older lockbox, or copied in with a
// looser mode, is tightened when opened.
func restrictFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: database file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&^privatePerm != 0 {
		if err := os.Chmod(path, perm&privatePerm); err != nil {
			return fmt.Errorf("sqlite: restrict the permissions of %s (mode %o) to its owner: %w", path, perm, err)
		}
	}
	return nil
}

// dsn is the data source name of the writer or of a reader connection. The
// pragmas are applied by the driver to every new connection.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		// A reader cannot write, even by mistake: View is read-only.
		q.Add("_pragma", "query_only(1)")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	// file:///abs/path is what SQLite's URI parser expects as well.
	return u.String()
}

// migrate applies the embedded migrations not yet applied.
func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	// The provider is not closed: Close would close the writer pool.
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	return p, nil
}

// SchemaVersion returns the version of the last migration applied to the
// database and the version of the newest migration this binary knows. They
// are equal after Open.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return current, latest, nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// View runs fn in a read-only transaction on the reader pool. It sees the
// state committed when it began.
func (s *Store) View(ctx context.Context, fn func(lockbox.Reader) error) error {
	return s.read(ctx, func(t *tx) error { return fn(t) })
}

// read is View for the store's own methods, which need the *tx.
func (s *Store) read(ctx context.Context, fn func(*tx) error) error {
	sqlTx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read transaction: %w", err)
	}
	err = fn(newTx(sqlTx, s.readStmts))
	_ = sqlTx.Rollback() // a read transaction has nothing to commit
	s.readStmts.preparePending(ctx)
	return err
}

// Update runs fn in a read-write transaction on the writer, committing when
// fn returns nil. It rolls back when fn returns an error or panics (and then
// re-panics). SQLite never reports a serialisation conflict under BEGIN
// IMMEDIATE, so fn runs exactly once. fn must not call Update itself: the
// writer has one connection, which fn's transaction holds.
func (s *Store) Update(ctx context.Context, fn func(lockbox.Tx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

// update is Update for the store's own methods, which need the *tx.
func (s *Store) update(ctx context.Context, fn func(*tx) error) (err error) {
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
		s.writeStmts.preparePending(context.WithoutCancel(ctx))
	}()
	t := newTx(sqlTx, s.writeStmts)
	if err := fn(t); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	committed = true
	s.notices.Publish(t.notices...)
	return nil
}

// Watch implements lockbox.Store. SQLite serves one process, so notices
// come from this process's commits.
func (s *Store) Watch(ctx context.Context) (<-chan lockbox.EventNotice, error) {
	return s.notices.Subscribe(ctx), nil
}

// RunExclusive implements lockbox.Store. One process owns a SQLite
// database, so the lease is always this process's: fn runs until ctx ends.
func (s *Store) RunExclusive(ctx context.Context, name string, fn func(ctx context.Context)) error {
	fn(ctx)
	return ctx.Err()
}

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{s.writer, s.reader} {
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return fmt.Errorf("sqlite: ping: %w", err)
		}
	}
	return nil
}

// Close closes both pools. The writer closes last, so SQLite checkpoints the
// WAL into the database file.
func (s *Store) Close() error {
	errs := []error{s.readStmts.close(), s.writeStmts.close()}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}
