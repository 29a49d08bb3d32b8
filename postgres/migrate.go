package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the migrations not yet applied to the database at url, as
// Open does, and returns. It is `lockbox migrate up`: operators who run
// schema changes as a separate deployment step, with a more privileged role
// than the server's, use it before starting the servers.
func Migrate(ctx context.Context, url string, opts ...Option) error {
	pool, o, err := connect(ctx, url, opts)
	if err != nil {
		return err
	}
	defer pool.Close()
	schema, err := prepareSchema(ctx, pool, o)
	if err != nil {
		return err
	}
	return migrate(ctx, pool, schema)
}

// MigrationState is the state of one migration in a database.
type MigrationState struct {
	Version int64
	// Name is the migration's file name, such as "00001_schema.sql".
	Name    string
	Applied bool
	// AppliedAt is when it was applied, as goose recorded it (lockbox's
	// sessions run in UTC); zero when pending.
	AppliedAt time.Time
}

// MigrationStatus lists every migration this binary knows, oldest first, and
// whether the database at url has it. It is `lockbox migrate status`. It
// changes nothing (a database never migrated, or a schema not yet created,
// has every migration pending) and takes no lock, so it answers while a
// migration runs.
func MigrationStatus(ctx context.Context, url string, opts ...Option) ([]MigrationState, error) {
	pool, _, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	var (
		schema  *string
		tracked bool
	)
	err = pool.QueryRow(ctx, `SELECT current_schema(), to_regclass('goose_db_version') IS NOT NULL`).Scan(&schema, &tracked)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, "", false)
	if err != nil {
		return nil, err
	}
	if schema == nil || !tracked {
		var out []MigrationState
		for _, src := range p.ListSources() {
			out = append(out, MigrationState{Version: src.Version, Name: path.Base(src.Path)})
		}
		return out, nil
	}
	list, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status of schema %q: %w", *schema, err)
	}
	out := make([]MigrationState, 0, len(list))
	for _, m := range list {
		st := MigrationState{Version: m.Source.Version, Name: path.Base(m.Source.Path),
			Applied: m.State == goose.StateApplied}
		if st.Applied {
			st.AppliedAt = m.AppliedAt.UTC()
		}
		out = append(out, st)
	}
	return out, nil
}

// migrate applies the embedded migrations not yet applied to the schema.
// goose holds a session-level advisory lock while it checks and migrates, so
// of several replicas starting at once one migrates and the others then find
// nothing to do.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // leaves the pool open
	p, err := provider(db, schema, true)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate schema %q: %w", schema, err)
	}
	return nil
}

// migrationLockPolls is how many seconds Open waits for another process's
// migration to finish: long enough for any lockbox migration.
const migrationLockPolls = 600

// provider returns a goose provider for the schema. goose's version table
// is unqualified, so it lives in the schema with lockbox's tables.
func provider(db *sql.DB, schema string, locked bool) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locked {
		// The lock key is the schema's: installations in other schemas of
		// the database migrate independently. goose polls every second.
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(lockKey("migrate", schema)),
			lock.WithLockTimeout(1, migrationLockPolls),
		)
		if err != nil {
			return nil, fmt.Errorf("postgres: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	return p, nil
}

// schemaVersion returns the last applied and the newest known migration.
func schemaVersion(ctx context.Context, pool *pgxpool.Pool) (current, latest int64, err error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, "", false)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return current, latest, nil
}
