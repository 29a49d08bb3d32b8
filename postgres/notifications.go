package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

var _ lockbox.NotificationQueue = (*Store)(nil)

// ClaimNotifications implements lockbox.NotificationQueue: due rows are
// locked with FOR UPDATE SKIP LOCKED, so concurrent workers (on any replica)
// take different rows without waiting for each other, and leased until
// now+lease.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*lockbox.Notification, error) {
	var out []*lockbox.Notification
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(t pgx.Tx) (err error) {
		out, err = sqlstore.ClaimNotifications(ctx, dialect, newTx(t, s.schema).Q, now, lease, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	return out, nil
}

// FinishNotification implements lockbox.NotificationQueue.
func (s *Store) FinishNotification(ctx context.Context, n *lockbox.Notification) error {
	return sqlstore.FinishNotification(ctx, dialect, poolQuerier{s.pool}.Exec, n)
}
