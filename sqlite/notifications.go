package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
)

var _ lockbox.NotificationQueue = (*Store)(nil)

const notificationColumns = `id, key, tenant_id, COALESCE(request_id, ''), COALESCE(event_id, ''), kind, channel, target,
	recipient, payload, status, attempts, last_error, created_at, next_attempt_at, delivered_at, claim, history`

// EnqueueNotification implements lockbox.Tx.
func (t *tx) EnqueueNotification(ctx context.Context, n *lockbox.Notification) (bool, error) {
	hist, err := json.Marshal(nonNilHistory(n.History))
	if err != nil {
		return false, err
	}
	res, err := t.exec(ctx, `INSERT INTO notifications (id, key, tenant_id, request_id, event_id, kind, channel, target,
		recipient, payload, status, attempts, last_error, created_at, next_attempt_at, history)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		n.ID, n.Key, n.TenantID, nullText(string(n.RequestID)), nullText(n.EventID), n.Kind, n.Channel, n.Target,
		n.Recipient, string(n.Payload), n.Status, n.Attempts, n.LastError, fmtTime(n.CreatedAt),
		fmtNullTime(n.NextAttemptAt), string(hist))
	if err != nil {
		return false, fmt.Errorf("sqlite: enqueue notification %s: %w", n.Key, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: enqueue notification %s: %w", n.Key, err)
	}
	return k == 1, nil
}

// ListNotifications implements lockbox.Reader.
func (t *tx) ListNotifications(ctx context.Context, f lockbox.NotificationFilter) ([]*lockbox.Notification, error) {
	var conds []string
	var args []any
	if f.RequestID != "" {
		conds, args = append(conds, "request_id = ?"), append(args, f.RequestID)
	}
	if f.TenantID != "" {
		conds, args = append(conds, "tenant_id = ?"), append(args, f.TenantID)
	}
	q := `SELECT ` + notificationColumns + ` FROM notifications`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = lockbox.MaxPageSize
	}
	q += " ORDER BY created_at, id LIMIT ?"
	args = append(args, limit)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list notifications: %w", err)
	}
	defer rows.Close()
	out := []*lockbox.Notification{}
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ClaimNotifications implements lockbox.NotificationQueue. The single
// writer makes the UPDATE … RETURNING a claim no other worker can share.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*lockbox.Notification, error) {
	if limit <= 0 {
		limit = 100
	}
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
	claim := lockbox.NewID("clm")
	var out []*lockbox.Notification
	err = s.update(ctx, func(t *tx) error {
		out = nil
		rows, err := t.query(ctx, `UPDATE notifications SET locked_until = ?, claim = ?
			WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?
				AND (locked_until IS NULL OR locked_until <= ?) ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING `+notificationColumns,
			fmtTime(now.Add(lease)), claim, fmtTime(now), fmtTime(now), limit)
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
		return nil, fmt.Errorf("sqlite: claim notifications: %w", err)
	}
	return out, nil
}

// FinishNotification implements lockbox.NotificationQueue.
func (s *Store) FinishNotification(ctx context.Context, n *lockbox.Notification) error {
	hist, err := json.Marshal(nonNilHistory(n.History))
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE notifications SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,
			delivered_at = ?, history = ?, locked_until = NULL, claim = '' WHERE id = ? AND claim = ? AND claim <> ''`,
			n.Status, n.Attempts, n.LastError, fmtNullTime(n.NextAttemptAt), fmtNullTime(n.DeliveredAt), string(hist),
			n.ID, n.Claim)
		if err != nil {
			return fmt.Errorf("sqlite: finish notification %s: %w", n.ID, err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: finish notification %s: %w", n.ID, err)
		} else if k != 1 {
			return lockbox.Errorf(lockbox.CodeConflict, "notification %s: the lease passed and another worker claimed it", n.ID)
		}
		return nil
	})
}

func scanNotification(rows *sql.Rows) (*lockbox.Notification, error) {
	n := &lockbox.Notification{}
	var payload, created, hist string
	var next, delivered sql.NullString
	err := rows.Scan(&n.ID, &n.Key, &n.TenantID, &n.RequestID, &n.EventID, &n.Kind, &n.Channel, &n.Target,
		&n.Recipient, &payload, &n.Status, &n.Attempts, &n.LastError, &created, &next, &delivered, &n.Claim, &hist)
	if err != nil {
		return nil, err
	}
	n.Payload = json.RawMessage(payload)
	if n.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if n.NextAttemptAt, err = parseNullTime(next); err != nil {
		return nil, err
	}
	if n.DeliveredAt, err = parseNullTime(delivered); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(hist), &n.History); err != nil {
		return nil, fmt.Errorf("notification %s: stored history: %w", n.ID, err)
	}
	n.History = nonNilHistory(n.History)
	return n, nil
}

func parseNullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNilHistory(h []lockbox.NotificationAttempt) []lockbox.NotificationAttempt {
	if h == nil {
		return []lockbox.NotificationAttempt{}
	}
	return h
}
