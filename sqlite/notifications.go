package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

var _ lockbox.NotificationQueue = (*Store)(nil)

// ClaimNotifications implements lockbox.NotificationQueue. The single
// writer makes the UPDATE … RETURNING a claim no other worker can share.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*lockbox.Notification, error) {
	// Look on the reader first: an idle poll then never takes the single
	// writer from the use cases.
	due := false
	err := s.read(ctx, func(t *tx) error {
		err := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?
			AND (locked_until IS NULL OR locked_until <= ?))`, fmtTime(now), fmtTime(now)).Scan(&due)
		return err
	})
	if err != nil || !due {
		return nil, err
	}
	var out []*lockbox.Notification
	err = s.update(ctx, func(t *tx) (err error) {
		out, err = sqlstore.ClaimNotifications(ctx, dialect, t.Q, now, lease, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim notifications: %w", err)
	}
	return out, nil
}

// FinishNotification implements lockbox.NotificationQueue.
func (s *Store) FinishNotification(ctx context.Context, n *lockbox.Notification) error {
	return s.update(ctx, func(t *tx) error { return sqlstore.FinishNotification(ctx, dialect, t.Q.Exec, n) })
}
