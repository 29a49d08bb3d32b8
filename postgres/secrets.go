package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetSecret implements lockbox.Store.
func (s *Store) GetSecret(ctx context.Context, name string) ([]byte, int64, error) {
	value, version, err := sqlstore.GetSecret(ctx, dialect, poolQuerier{s.pool}, name)
	if err != nil && lockbox.ErrorCodeOf(err) == lockbox.CodeInternal {
		return nil, 0, secretErr(err, "read", name)
	}
	return value, version, err
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
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(t pgx.Tx) error {
		return sqlstore.PutSecret(ctx, dialect, newTx(t, s.schema).Q, name, value, version, time.Now())
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
