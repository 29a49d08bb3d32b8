package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CountAttempt implements lockbox.Store. One upsert under READ COMMITTED:
// replicas counting the same key at once wait for each other's row lock
// and each adds to the committed count, so no attempt is lost.
func (s *Store) CountAttempt(ctx context.Context, key string, window int64, delta int, expired int64) (int, error) {
	var n int
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM throttle WHERE win_start < $1`, expired); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO throttle (key, win_start, count) VALUES ($1, $2, greatest($3::integer, 0))
			ON CONFLICT (key, win_start) DO UPDATE SET count = greatest(throttle.count + $3::integer, 0)
			RETURNING count`, key, window, delta).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: count attempt: %w", err)
	}
	return n, nil
}
