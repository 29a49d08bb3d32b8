package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetSecret implements lockbox.Store.
func (s *Store) GetSecret(ctx context.Context, name string) (value []byte, version int64, err error) {
	err = s.read(ctx, func(t *tx) (err error) {
		value, version, err = sqlstore.GetSecret(ctx, dialect, t.Q, name)
		return err
	})
	if err != nil && lockbox.ErrorCodeOf(err) == lockbox.CodeInternal {
		return nil, 0, fmt.Errorf("sqlite: read secret %s: %w", name, err)
	}
	return value, version, err
}

// PutSecret implements lockbox.Store. The writer is serial, so the
// compare-and-set is the WHERE clause of one statement.
func (s *Store) PutSecret(ctx context.Context, name string, value []byte, version int64) error {
	if err := lockbox.CheckSecretArgs(name, version); err != nil {
		return err
	}
	err := s.update(ctx, func(t *tx) error {
		return sqlstore.PutSecret(ctx, dialect, t.Q, name, value, version, time.Now())
	})
	if err != nil && lockbox.ErrorCodeOf(err) == lockbox.CodeInternal {
		return fmt.Errorf("sqlite: store secret %s: %w", name, err)
	}
	return err
}
