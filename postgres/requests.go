package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetRequest implements lockbox.Reader. Reviews is never nil.
func (t *tx) GetRequest(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	return sqlstore.GetRequest(ctx, dialect, t, id)
}

// ListRequests implements lockbox.Reader. The reviews of the whole page are
// read with one query.
func (t *tx) ListRequests(ctx context.Context, f lockbox.RequestFilter) ([]*lockbox.AccessRequest, string, error) {
	return sqlstore.ListRequests(ctx, dialect, t, f)
}

// ListDueRequests implements lockbox.Reader, earliest deadline first; a
// limit of 0 or less means no limit. Each half of the query runs on its own
// partial index, whose predicate it repeats literally so the planner sees
// the index applies.
func (t *tx) ListDueRequests(ctx context.Context, now time.Time, limit int) ([]lockbox.RequestID, error) {
	var limitArg any // NULL: no limit
	if limit > 0 {
		limitArg = limit
	}
	out := []lockbox.RequestID{}
	err := t.queryEach(ctx, `SELECT id FROM (
			SELECT id, decision_deadline AS due FROM requests
			WHERE status IN ('pending_internal', 'pending_customer') AND decision_deadline <= $1
			UNION ALL
			SELECT id, access_expires_at AS due FROM requests
			WHERE status = 'approved' AND access_expires_at <= $1
		) AS due ORDER BY due, id LIMIT $2`, []any{ts(now), limitArg},
		func(rows pgx.Rows) error {
			var id lockbox.RequestID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("postgres: list due requests: %w", err)
	}
	return out, nil
}

// CreateRequest implements lockbox.Tx. It stores r with Version 1, and its
// reviews if it has any.
func (t *tx) CreateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	args, err := sqlstore.RequestInsertArgs(dialect, r)
	if err != nil {
		return fmt.Errorf("postgres: create request %s: %w", r.ID, err)
	}
	if _, err = t.exec(ctx, dialect.Q(sqlstore.RequestInsert), args...); err != nil {
		return writeErr(err, "create", "request", string(r.ID))
	}
	if err := t.appendReviews(ctx, r, 0); err != nil {
		return err
	}
	r.Version = 1
	return nil
}

// UpdateRequest implements lockbox.Tx by compare-and-set on the version. It
// stores what the workflow changes: status, policy, deadlines, the access
// window and how the request ended. What was asked for (tenant, ticket,
// requester, resources, level, reason, justification, requested duration)
// and the creation time never change: approvers approved exactly that.
//
// Two transactions updating the same version concurrently cannot both pass
// the version check: the second waits for the first's row lock and then
// fails with a serialisation error, and its re-run reads the new version.
func (t *tx) UpdateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	args, err := sqlstore.RequestUpdateArgs(dialect, r)
	if err != nil {
		return fmt.Errorf("postgres: update request %s: %w", r.ID, err)
	}
	tag, err := t.exec(ctx, dialect.Q(sqlstore.RequestUpdate), args...)
	if err != nil {
		return writeErr(err, "update", "request", string(r.ID))
	}
	if tag.RowsAffected() == 0 {
		var stored int64
		err := t.row(ctx, dialect.Q(sqlstore.RequestVersion), r.ID).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("request", string(r.ID))
		}
		if err != nil {
			return fmt.Errorf("postgres: update request %s: %w", r.ID, err)
		}
		return lockbox.Errorf(lockbox.CodeConflict,
			"request %s changed since it was read (version %d, read %d): reload it and try again", r.ID, stored, r.Version)
	}

	var stored int
	if err := t.row(ctx, dialect.Q(sqlstore.ReviewCount), r.ID).Scan(&stored); err != nil {
		return fmt.Errorf("postgres: update request %s: %w", r.ID, err)
	}
	if len(r.Reviews) < stored {
		return fmt.Errorf("postgres: update request %s: it has %d stored reviews but %d were given: reviews are append-only",
			r.ID, stored, len(r.Reviews))
	}
	if err := t.appendReviews(ctx, r, stored); err != nil {
		return err
	}
	r.Version++
	return nil
}

// appendReviews stores r.Reviews[from:], each at its position.
func (t *tx) appendReviews(ctx context.Context, r *lockbox.AccessRequest, from int) error {
	for i := from; i < len(r.Reviews); i++ {
		v := r.Reviews[i]
		_, err := t.exec(ctx, dialect.Q(sqlstore.ReviewInsert), sqlstore.ReviewInsertArgs(dialect, r, i)...)
		if err != nil {
			if violates(err, "reviews_one_per_reviewer") {
				return lockbox.Errorf(lockbox.CodeConflict, "%s already reviewed request %s", v.ReviewerID, r.ID)
			}
			return writeErr(err, fmt.Sprintf("add review %d to", i), "request", string(r.ID))
		}
	}
	return nil
}
