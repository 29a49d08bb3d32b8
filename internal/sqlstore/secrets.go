package sqlstore

import (
	"context"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// GetSecret reads a secret's value (never nil) and version; a missing one
// is ErrNotFound. Other errors are returned as the engine reported them.
func GetSecret(ctx context.Context, d *Dialect, q Querier, name string) ([]byte, int64, error) {
	var (
		value   []byte
		version int64
	)
	err := q.QueryRow(ctx, d.Q(`SELECT value, version FROM secrets WHERE name = ?`), name).Scan(&value, &version)
	switch {
	case d.NoRows(err):
		return nil, 0, NotFound("secret", name)
	case err != nil:
		return nil, 0, err
	}
	if value == nil {
		value = []byte{}
	}
	return value, version, nil
}

// PutSecret stores value as the secret's next version by compare-and-set
// in q, a write transaction: version 0 creates it, otherwise version must
// be the stored one. A lost race is lockbox.SecretConflict; other errors
// are returned as the engine reported them.
func PutSecret(ctx context.Context, d *Dialect, q Querier, name string, value []byte, version int64, now time.Time) error {
	if value == nil {
		value = []byte{} // an empty value, not NULL
	}
	var (
		n   int64
		err error
	)
	if version == 0 {
		n, err = q.Exec(ctx, d.Q(`INSERT INTO secrets (name, value, version, updated_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (name) DO NOTHING`), name, value, d.Time(now))
	} else {
		n, err = q.Exec(ctx, d.Q(`UPDATE secrets SET value = ?, version = version + 1, updated_at = ?
			WHERE name = ? AND version = ?`), value, d.Time(now), name, version)
	}
	if err != nil || n == 1 {
		return err
	}
	var stored int64
	err = q.QueryRow(ctx, d.Q(`SELECT version FROM secrets WHERE name = ?`), name).Scan(&stored)
	if err != nil && !d.NoRows(err) {
		return err
	}
	return lockbox.SecretConflict(name, version, stored)
}
