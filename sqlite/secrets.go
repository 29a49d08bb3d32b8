package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetSecret implements lockbox.Store.
func (s *Store) GetSecret(ctx context.Context, name string) ([]byte, int64, error) {
	var (
		value   []byte
		version int64
	)
	err := s.read(ctx, func(t *tx) error {
		return t.queryRow(ctx, `SELECT value, version FROM secrets WHERE name = ?`, name).Scan(&value, &version)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, 0, sqlstore.NotFound("secret", name)
	case err != nil:
		return nil, 0, fmt.Errorf("sqlite: read secret %s: %w", name, err)
	}
	if value == nil {
		value = []byte{}
	}
	return value, version, nil
}

// PutSecret implements lockbox.Store. The writer is serial, so the
// compare-and-set is the WHERE clause of one statement.
func (s *Store) PutSecret(ctx context.Context, name string, value []byte, version int64) error {
	if err := lockbox.CheckSecretArgs(name, version); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // an empty value, not NULL
	}
	now := fmtTime(time.Now())
	return s.update(ctx, func(t *tx) error {
		var (
			res sql.Result
			err error
		)
		if version == 0 {
			res, err = t.exec(ctx, `INSERT INTO secrets (name, value, version, updated_at) VALUES (?, ?, 1, ?)
				ON CONFLICT (name) DO NOTHING`, name, value, now)
		} else {
			res, err = t.exec(ctx, `UPDATE secrets SET value = ?, version = version + 1, updated_at = ?
				WHERE name = ? AND version = ?`, value, now, name, version)
		}
		if err != nil {
			return fmt.Errorf("sqlite: store secret %s: %w", name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: store secret %s: %w", name, err)
		}
		if n == 1 {
			return nil
		}
		var stored int64
		err = t.queryRow(ctx, `SELECT version FROM secrets WHERE name = ?`, name).Scan(&stored)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: store secret %s: %w", name, err)
		}
		return lockbox.SecretConflict(name, version, stored)
	})
}
