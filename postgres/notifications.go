package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

var _ lockbox.NotificationQueue = (*Store)(nil)

const notificationColumns = `id, key, tenant_id, COALESCE(request_id, ''), COALESCE(event_id, ''), kind, channel, target,
	recipient, payload, status, attempts, last_error, created_at, next_attempt_at, delivered_at, claim, history::text`

// EnqueueNotification implements lockbox.Tx. Two transactions enqueueing
// the same key: the second waits for the first and, under REPEATABLE READ,
// runs again (its change conflicts anyway, on the log head).
func (t *tx) EnqueueNotification(ctx context.Context, n *lockbox.Notification) (bool, error) {
	hist, err := sqlstore.ToJSON(nonNilHistory(n.History))
	if err != nil {
		return false, err
	}
	tag, err := t.exec(ctx, `INSERT INTO notifications (id, key, tenant_id, request_id, event_id, kind, channel, target,
		recipient, payload, status, attempts, last_error, created_at, next_attempt_at, history)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (key) DO NOTHING`,
		n.ID, n.Key, n.TenantID, sqlstore.NullStr(n.RequestID), sqlstore.NullStr(n.EventID), n.Kind, n.Channel, n.Target,
		n.Recipient, string(n.Payload), n.Status, n.Attempts, n.LastError, ts(n.CreatedAt), tsPtr(n.NextAttemptAt), hist)
	if err != nil {
		return false, writeErr(err, "enqueue", "notification", n.Key)
	}
	return tag.RowsAffected() == 1, nil
}

// ListNotifications implements lockbox.Reader.
func (t *tx) ListNotifications(ctx context.Context, f lockbox.NotificationFilter) ([]*lockbox.Notification, error) {
	var w sqlstore.Filter
	if f.RequestID != "" {
		w.Eq("request_id", string(f.RequestID))
	}
	if f.TenantID != "" {
		w.Eq("tenant_id", string(f.TenantID))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = lockbox.MaxPageSize
	}
	q := dialect.Q(`SELECT ` + notificationColumns + ` FROM notifications` + w.Where() + ` ORDER BY created_at, id LIMIT ?`)
	out := []*lockbox.Notification{}
	err := t.queryEach(ctx, q, append(w.Args(), limit), func(rows pgx.Rows) error {
		n, err := scanNotification(rows)
		if err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list notifications: %w", err)
	}
	return out, nil
}

// ClaimNotifications implements lockbox.NotificationQueue: due rows are
// locked with FOR UPDATE SKIP LOCKED, so concurrent workers (on any replica)
// take different rows without waiting for each other, and leased until
// now+lease.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*lockbox.Notification, error) {
	if limit <= 0 {
		limit = 100
	}
	claim := lockbox.NewID("clm")
	var out []*lockbox.Notification
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(t pgx.Tx) error {
		out = nil
		rows, err := t.Query(ctx, `UPDATE notifications SET locked_until = $1, claim = $2
			WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= $3
				AND (locked_until IS NULL OR locked_until <= $3) ORDER BY next_attempt_at, id LIMIT $4
				FOR UPDATE SKIP LOCKED)
			RETURNING `+notificationColumns, ts(now.Add(lease)), claim, ts(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notifications: %w", err)
	}
	return out, nil
}

// FinishNotification implements lockbox.NotificationQueue.
func (s *Store) FinishNotification(ctx context.Context, n *lockbox.Notification) error {
	hist, err := sqlstore.ToJSON(nonNilHistory(n.History))
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE notifications SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4,
		delivered_at = $5, history = $6, locked_until = NULL, claim = '' WHERE id = $7 AND claim = $8 AND claim <> ''`,
		n.Status, n.Attempts, n.LastError, tsPtr(n.NextAttemptAt), tsPtr(n.DeliveredAt), hist, n.ID, n.Claim)
	if err != nil {
		return fmt.Errorf("postgres: finish notification %s: %w", n.ID, err)
	}
	if tag.RowsAffected() != 1 {
		return lockbox.Errorf(lockbox.CodeConflict, "notification %s: the lease passed and another worker claimed it", n.ID)
	}
	return nil
}

func scanNotification(rows pgx.Rows) (*lockbox.Notification, error) {
	n := &lockbox.Notification{}
	var payload, hist string
	var next, delivered *time.Time
	err := rows.Scan(&n.ID, &n.Key, &n.TenantID, &n.RequestID, &n.EventID, &n.Kind, &n.Channel, &n.Target,
		&n.Recipient, &payload, &n.Status, &n.Attempts, &n.LastError, &n.CreatedAt, &next, &delivered, &n.Claim, &hist)
	if err != nil {
		return nil, err
	}
	n.Payload = json.RawMessage(payload)
	n.CreatedAt = n.CreatedAt.UTC()
	n.NextAttemptAt, n.DeliveredAt = utcPtr(next), utcPtr(delivered)
	if err := json.Unmarshal([]byte(hist), &n.History); err != nil {
		return nil, fmt.Errorf("notification %s: stored history: %w", n.ID, err)
	}
	n.History = nonNilHistory(n.History)
	return n, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nonNilHistory(h []lockbox.NotificationAttempt) []lockbox.NotificationAttempt {
	if h == nil {
		return []lockbox.NotificationAttempt{}
	}
	return h
}
