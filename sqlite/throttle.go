package sqlite

import (
	"context"
	"fmt"
)

// CountAttempt implements lockbox.Store.
func (s *Store) CountAttempt(ctx context.Context, key string, window int64, delta int, expired int64) (int, error) {
	var n int
	err := s.update(ctx, func(t *tx) error {
		if _, err := t.exec(ctx, `DELETE FROM throttle WHERE win_start < ?`, expired); err != nil {
			return err
		}
		return t.queryRow(ctx, `INSERT INTO throttle (key, win_start, count) VALUES (?, ?, max(?, 0))
			ON CONFLICT (key, win_start) DO UPDATE SET count = max(throttle.count + ?, 0)
			RETURNING count`, key, window, delta, delta).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: count attempt: %w", err)
	}
	return n, nil
}
