package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetSecret implements lockbox.Store.
func (s *Store) GetSecret(ctx context.Context, name string) ([]byte, int64, error) {
	var (
		value   []byte
		version int64
	)
	err := s.pool.QueryRow(ctx, `SELECT value, version FROM secrets WHERE name = $1`, name).Scan(&value, &version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, 0, sqlstore.NotFound("secret", name)
	case err != nil:
		return nil, 0, secretErr(err, "read", name)
	}
	if value == nil {
		value = []byte{}
	}
	return value, version, nil
}

// PutSecret implements lockbox.Store. It runs READ COMMITTED, whatever the
// server's default: of replicas racing on one secret, the later waits for
// the earlier's row lock and then finds the row changed (its UPDATE
// matches nothing) or taken (its INSERT does nothing), so it gets
// ErrConflict rather than a serialisation failure.
func (s *Store) PutSecret(ctx context.Context, name string, value []byte, version int64) error {
	if err := lockbox.CheckSecretArgs(name, version); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // pgx sends nil as NULL
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		var (
			query string
			args  []any
		)
		if version == 0 {
			query = `INSERT INTO secrets (name, value, version, updated_at) VALUES ($1, $2, 1, now())
				ON CONFLICT (name) DO NOTHING`
			args = []any{name, value}
		} else {
			query = `UPDATE secrets SET value = $2, version = version + 1, updated_at = now()
				WHERE name = $1 AND version = $3`
			args = []any{name, value, version}
		}
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var stored int64
		err = tx.QueryRow(ctx, `SELECT version FROM secrets WHERE name = $1`, name).Scan(&stored)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return lockbox.SecretConflict(name, version, stored)
	})
	if lockbox.ErrorCodeOf(err) == lockbox.CodeConflict {
		return err
	}
	if isRetryable(err) {
		// Not expected under READ COMMITTED, but it means the same.
		return fmt.Errorf("%w: %w", lockbox.Errorf(lockbox.CodeConflict, "secret %s was changed concurrently", name), err)
	}
	if err != nil {
		return secretErr(err, "store", name)
	}
	return nil
}

// secretErr wraps the failure of a statement on a secret. A name
// PostgreSQL cannot store as text (NUL characters, invalid UTF-8) is
// ErrInvalid.
func secretErr(err error, op, name string) error {
	if e, ok := pgError(err); ok && (e.Code == codeCharNotInRepertoire || e.Code == codeUntranslatableChar) {
		return fmt.Errorf("%w: %w", lockbox.Errorf(lockbox.CodeInvalid,
			"secret %q: a name must be valid UTF-8 without NUL characters", name), err)
	}
	return fmt.Errorf("postgres: %s secret %s: %w", op, name, err)
}
