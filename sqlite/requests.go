package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

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
// partial index.
func (t *tx) ListDueRequests(ctx context.Context, now time.Time, limit int) ([]lockbox.RequestID, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	at := fmtTime(now)
	rows, err := t.query(ctx, `SELECT id FROM (
			SELECT id, decision_deadline AS due FROM requests
			WHERE status IN ('pending_internal', 'pending_customer') AND decision_deadline <= ?
			UNION ALL
			SELECT id, access_expires_at AS due FROM requests
			WHERE status = 'approved' AND access_expires_at <= ?
		) ORDER BY due, id LIMIT ?`, at, at, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list due requests: %w", err)
	}
	defer rows.Close()
	out := []lockbox.RequestID{}
	for rows.Next() {
		var id lockbox.RequestID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: list due requests: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list due requests: %w", err)
	}
	return out, nil
}

// CreateRequest implements lockbox.Tx. It stores r with Version 1, and its
// reviews if it has any.
func (t *tx) CreateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	args, err := sqlstore.RequestInsertArgs(dialect, r)
	if err != nil {
		return fmt.Errorf("sqlite: create request %s: %w", r.ID, err)
	}
	if _, err = t.exec(ctx, sqlstore.RequestInsert, args...); err != nil {
		return duplicate(err, "request", string(r.ID))
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
func (t *tx) UpdateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	args, err := sqlstore.RequestUpdateArgs(dialect, r)
	if err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	res, err := t.exec(ctx, sqlstore.RequestUpdate, args...)
	if err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	if n == 0 {
		var stored int64
		err := t.queryRow(ctx, sqlstore.RequestVersion, r.ID).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("request", string(r.ID))
		}
		if err != nil {
			return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
		}
		return lockbox.Errorf(lockbox.CodeConflict,
			"request %s changed since it was read (version %d, read %d): reload it and try again", r.ID, stored, r.Version)
	}

	var stored int
	if err := t.queryRow(ctx, sqlstore.ReviewCount, r.ID).Scan(&stored); err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	if len(r.Reviews) < stored {
		return fmt.Errorf("sqlite: update request %s: it has %d stored reviews but %d were given: reviews are append-only",
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
		_, err := t.exec(ctx, sqlstore.ReviewInsert, sqlstore.ReviewInsertArgs(dialect, r, i)...)
		if err != nil {
			if msg, ok := isUnique(err); ok && strings.Contains(msg, "reviews.reviewer_id") {
				return lockbox.Errorf(lockbox.CodeConflict, "%s already reviewed request %s", v.ReviewerID, r.ID)
			}
			return fmt.Errorf("sqlite: add review %d of request %s: %w", i, r.ID, err)
		}
	}
	return nil
}
