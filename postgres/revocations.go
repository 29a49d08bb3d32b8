package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
)

// AppendRevocation implements lockbox.Tx. The number is taken under a
// transaction advisory lock held until commit, so numbers increase in commit
// order (see migration 00003); waiting for the lock is not a serialisation
// failure, so concurrent endings queue instead of retrying.
func (t *tx) AppendRevocation(ctx context.Context, r *lockbox.Revocation) error {
	var seq int64
	err := t.row(ctx, `SELECT pg_advisory_xact_lock($1), nextval('revocation_seq')`, lockKey(t.schema, "revocation-feed")).Scan(nil, &seq)
	if err != nil {
		return writeErr(err, "append to the revocation feed", "request", string(r.RequestID))
	}
	_, err = t.exec(ctx, `INSERT INTO revocations (seq, request_id, tenant_id, status, ended_at) VALUES ($1, $2, $3, $4, $5)`,
		seq, r.RequestID, r.TenantID, r.Status, ts(r.EndedAt))
	if err != nil {
		if violates(err, "revocations_request_id_key") {
			return lockbox.Errorf(lockbox.CodeConflict, "request %s is already in the revocation feed", r.RequestID)
		}
		return writeErr(err, "append to the revocation feed", "request", string(r.RequestID))
	}
	r.Seq = seq
	return nil
}

// ListRevocations implements lockbox.Reader.
func (t *tx) ListRevocations(ctx context.Context, after int64, limit int) ([]lockbox.Revocation, error) {
	if limit <= 0 {
		limit = 1000
	}
	out := []lockbox.Revocation{}
	err := t.queryEach(ctx, `SELECT seq, request_id, tenant_id, status, ended_at FROM revocations
		WHERE seq > $1 ORDER BY seq LIMIT $2`, []any{after, limit}, func(rows pgx.Rows) error {
		var r lockbox.Revocation
		if err := rows.Scan(&r.Seq, &r.RequestID, &r.TenantID, &r.Status, &r.EndedAt); err != nil {
			return err
		}
		r.EndedAt = r.EndedAt.UTC()
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list revocations: %w", err)
	}
	return out, nil
}

// RevocationHead implements lockbox.Reader.
func (t *tx) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	err := t.row(ctx, `SELECT COALESCE(max(seq), 0) FROM revocations`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("postgres: revocation head: %w", err)
	}
	return seq, nil
}

// MarkAccessRecord implements lockbox.Tx. Two transactions recording the
// same id at once: the second waits for the first's row and then, under
// REPEATABLE READ, fails and runs again, finding the id taken.
func (t *tx) MarkAccessRecord(ctx context.Context, id string, tenant lockbox.TenantID) (bool, error) {
	tag, err := t.exec(ctx, `INSERT INTO access_records (id, tenant_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, tenant)
	if err != nil {
		return false, writeErr(err, "remember", "access record", id)
	}
	return tag.RowsAffected() == 1, nil
}
