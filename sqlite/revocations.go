package sqlite

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
)

// AppendRevocation implements lockbox.Tx. The writer is serial, so the
// largest number plus one gives numbers in commit order (seq is the rowid:
// the largest is read from the end of the table).
func (t *tx) AppendRevocation(ctx context.Context, r *lockbox.Revocation) error {
	var seq int64
	if err := t.queryRow(ctx, `SELECT COALESCE(max(seq), 0) + 1 FROM revocations`).Scan(&seq); err != nil {
		return fmt.Errorf("sqlite: append revocation of %s: %w", r.RequestID, err)
	}
	_, err := t.exec(ctx, `INSERT INTO revocations (seq, request_id, tenant_id, status, ended_at) VALUES (?, ?, ?, ?, ?)`,
		seq, r.RequestID, r.TenantID, r.Status, fmtTime(r.EndedAt))
	if err != nil {
		if _, ok := isUnique(err); ok {
			return lockbox.Errorf(lockbox.CodeConflict, "request %s is already in the revocation feed", r.RequestID)
		}
		return fmt.Errorf("sqlite: append revocation of %s: %w", r.RequestID, err)
	}
	r.Seq = seq
	return nil
}

// ListRevocations implements lockbox.Reader.
func (t *tx) ListRevocations(ctx context.Context, after int64, limit int) ([]lockbox.Revocation, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := t.query(ctx, `SELECT seq, request_id, tenant_id, status, ended_at FROM revocations
		WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list revocations: %w", err)
	}
	defer rows.Close()
	out := []lockbox.Revocation{}
	for rows.Next() {
		var r lockbox.Revocation
		var ended string
		if err := rows.Scan(&r.Seq, &r.RequestID, &r.TenantID, &r.Status, &ended); err != nil {
			return nil, fmt.Errorf("sqlite: list revocations: %w", err)
		}
		if r.EndedAt, err = parseTime(ended); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RevocationHead implements lockbox.Reader.
func (t *tx) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	err := t.queryRow(ctx, `SELECT COALESCE(max(seq), 0) FROM revocations`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("sqlite: revocation head: %w", err)
	}
	return seq, nil
}

// MarkAccessRecord implements lockbox.Tx.
func (t *tx) MarkAccessRecord(ctx context.Context, id string, tenant lockbox.TenantID) (bool, error) {
	res, err := t.exec(ctx, `INSERT INTO access_records (id, tenant_id) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, tenant)
	if err != nil {
		return false, fmt.Errorf("sqlite: access record %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: access record %s: %w", id, err)
	}
	return n == 1, nil
}
