package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// NotificationColumns are the columns ScanNotification reads.
const NotificationColumns = `id, key, tenant_id, COALESCE(request_id, ''), COALESCE(event_id, ''), kind, channel, target,
	recipient, payload, status, attempts, last_error, created_at, next_attempt_at, delivered_at, claim, history`

// NotificationFinish records the outcome of a claimed delivery attempt;
// NotificationFinishArgs are its arguments. It touches no row when the
// claim was lost.
const NotificationFinish = `UPDATE notifications SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?,
	delivered_at = ?, history = ?, locked_until = NULL, claim = '' WHERE id = ? AND claim = ? AND claim <> ''`

func NotificationFinishArgs(d *Dialect, n *lockbox.Notification) ([]any, error) {
	hist, err := ToJSON(NonNilHistory(n.History))
	if err != nil {
		return nil, err
	}
	return []any{n.Status, n.Attempts, n.LastError, d.NullTime(n.NextAttemptAt), d.NullTime(n.DeliveredAt), hist,
		n.ID, n.Claim}, nil
}

// ScanNotification scans a row of NotificationColumns. Times are in UTC.
func ScanNotification(d *Dialect, row Row) (*lockbox.Notification, error) {
	n := &lockbox.Notification{}
	var payload string
	err := row.Scan(&n.ID, &n.Key, &n.TenantID, &n.RequestID, &n.EventID, &n.Kind, &n.Channel, &n.Target,
		&n.Recipient, &payload, &n.Status, &n.Attempts, &n.LastError, d.TimeDest(&n.CreatedAt),
		d.NullTimeDest(&n.NextAttemptAt), d.NullTimeDest(&n.DeliveredAt), &n.Claim, d.JSONDest(&n.History))
	if err != nil {
		return nil, err
	}
	n.Payload = json.RawMessage(payload)
	n.CreatedAt = n.CreatedAt.UTC()
	for _, p := range []*time.Time{n.NextAttemptAt, n.DeliveredAt} {
		if p != nil {
			*p = p.UTC()
		}
	}
	n.History = NonNilHistory(n.History)
	return n, nil
}

// NonNilHistory is h, or an empty history for nil.
func NonNilHistory(h []lockbox.NotificationAttempt) []lockbox.NotificationAttempt {
	if h == nil {
		return []lockbox.NotificationAttempt{}
	}
	return h
}

// EnqueueNotification implements lockbox.Tx: a notification whose key is
// already stored is not stored again (false).
func (t Tx) EnqueueNotification(ctx context.Context, n *lockbox.Notification) (bool, error) {
	hist, err := ToJSON(NonNilHistory(n.History))
	if err != nil {
		return false, err
	}
	k, err := t.exec(ctx, `INSERT INTO notifications (id, key, tenant_id, request_id, event_id, kind, channel, target,
		recipient, payload, status, attempts, last_error, created_at, next_attempt_at, history)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		n.ID, n.Key, n.TenantID, NullStr(n.RequestID), NullStr(n.EventID), n.Kind, n.Channel, n.Target,
		n.Recipient, string(n.Payload), n.Status, n.Attempts, n.LastError, t.D.Time(n.CreatedAt),
		t.D.NullTime(n.NextAttemptAt), hist)
	if err != nil {
		return false, t.D.WriteErr(err, "enqueue", "notification", n.Key)
	}
	return k == 1, nil
}

// ListNotifications implements lockbox.Reader: oldest first, at most
// f.Limit (lockbox.MaxPageSize when 0).
func (t Tx) ListNotifications(ctx context.Context, f lockbox.NotificationFilter) ([]*lockbox.Notification, error) {
	var w Filter
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
	out, err := Each(ctx, t.D, t.Q, `SELECT `+NotificationColumns+` FROM notifications`+w.Where()+
		` ORDER BY created_at, id LIMIT ?`, append(w.Args(), limit),
		func(r Row) (*lockbox.Notification, error) { return ScanNotification(t.D, r) })
	if err != nil {
		return nil, fmt.Errorf("%s: list notifications: %w", t.D.Name, err)
	}
	return out, nil
}

// FinishNotification implements lockbox.NotificationQueue's method with
// exec, which runs a write on the engine and returns the rows it touched.
func FinishNotification(ctx context.Context, d *Dialect, exec func(ctx context.Context, query string, args ...any) (int64, error),
	n *lockbox.Notification,
) error {
	args, err := NotificationFinishArgs(d, n)
	if err != nil {
		return err
	}
	k, err := exec(ctx, d.Q(NotificationFinish), args...)
	if err != nil {
		return fmt.Errorf("%s: finish notification %s: %w", d.Name, n.ID, err)
	}
	if k != 1 {
		return lockbox.Errorf(lockbox.CodeConflict, "notification %s: the lease passed and another worker claimed it", n.ID)
	}
	return nil
}

// ClaimNotifications leases up to limit (100 when 0) due notifications to
// a new claim until now+lease and returns them; q is a write transaction.
// With
// Dialect.SkipLocked, rows other workers are claiming are skipped rather
// than waited for.
func ClaimNotifications(ctx context.Context, d *Dialect, q Querier, now time.Time, lease time.Duration, limit int,
) ([]*lockbox.Notification, error) {
	if limit <= 0 {
		limit = 100
	}
	claim := lockbox.NewID("clm")
	at := d.Time(now)
	return Each(ctx, d, q, `UPDATE notifications SET locked_until = ?, claim = ?
		WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?
			AND (locked_until IS NULL OR locked_until <= ?) ORDER BY next_attempt_at, id LIMIT ?`+d.SkipLocked+`)
		RETURNING `+NotificationColumns, []any{d.Time(now.Add(lease)), claim, at, at, limit},
		func(r Row) (*lockbox.Notification, error) { return ScanNotification(d, r) })
}
