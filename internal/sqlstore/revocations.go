package sqlstore

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
)

// InsertRevocation stores a numbered revocation (the engine numbers it, in
// commit order); InsertRevocationArgs are its arguments.
const InsertRevocation = `INSERT INTO revocations (seq, request_id, tenant_id, status, ended_at) VALUES (?, ?, ?, ?, ?)`

func InsertRevocationArgs(d *Dialect, seq int64, r *lockbox.Revocation) []any {
	return []any{seq, r.RequestID, r.TenantID, r.Status, d.Time(r.EndedAt)}
}

// ListRevocations implements lockbox.Reader: the feed after after, in
// order, at most limit entries (1000 when 0).
func (t Tx) ListRevocations(ctx context.Context, after int64, limit int) ([]lockbox.Revocation, error) {
	if limit <= 0 {
		limit = 1000
	}
	out, err := Each(ctx, t.D, t.Q, `SELECT seq, request_id, tenant_id, status, ended_at FROM revocations
		WHERE seq > ? ORDER BY seq LIMIT ?`, []any{after, limit}, func(row Row) (lockbox.Revocation, error) {
		var r lockbox.Revocation
		err := row.Scan(&r.Seq, &r.RequestID, &r.TenantID, &r.Status, t.D.TimeDest(&r.EndedAt))
		r.EndedAt = r.EndedAt.UTC()
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: list revocations: %w", t.D.Name, err)
	}
	return out, nil
}

// RevocationHead implements lockbox.Reader.
func (t Tx) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := t.Q.QueryRow(ctx, `SELECT COALESCE(max(seq), 0) FROM revocations`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("%s: revocation head: %w", t.D.Name, err)
	}
	return seq, nil
}

// MarkAccessRecord implements lockbox.Tx: false when id was already
// recorded. Two PostgreSQL transactions recording the same id at once: the
// second waits for the first's row and then, under REPEATABLE READ, fails
// and runs again, finding the id taken.
func (t Tx) MarkAccessRecord(ctx context.Context, id string, tenant lockbox.TenantID) (bool, error) {
	n, err := t.exec(ctx, `INSERT INTO access_records (id, tenant_id) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, tenant)
	if err != nil {
		return false, t.D.WriteErr(err, "remember", "access record", id)
	}
	return n == 1, nil
}
