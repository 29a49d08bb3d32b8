package postgres

import (
	"context"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
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
	_, err = t.exec(ctx, dialect.Q(sqlstore.InsertRevocation), sqlstore.InsertRevocationArgs(dialect, seq, r)...)
	if err != nil {
		if violates(err, "revocations_request_id_key") {
			return lockbox.Errorf(lockbox.CodeConflict, "request %s is already in the revocation feed", r.RequestID)
		}
		return writeErr(err, "append to the revocation feed", "request", string(r.RequestID))
	}
	r.Seq = seq
	return nil
}
