package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
)

const requestColumns = `SELECT id, tenant_id, ticket_id, requester_id, resources, access_level,
	reason_type, justification, requested_duration, status, policy, created_at, updated_at,
	decision_deadline, granted_duration, access_starts_at, access_expires_at, ended_at, end_reason,
	ended_by, end_comment, version FROM requests`

func scanRequest(row pgx.Row) (*lockbox.AccessRequest, error) {
	var r lockbox.AccessRequest
	err := row.Scan(&r.ID, &r.TenantID, &r.TicketID, &r.RequesterID, &r.Resources,
		&r.AccessLevel, &r.ReasonType, &r.Justification, &r.RequestedDuration, &r.Status,
		&r.Policy, &r.CreatedAt, &r.UpdatedAt, &r.DecisionDeadline,
		&r.GrantedDuration, &r.AccessStartsAt, &r.AccessExpiresAt,
		&r.EndedAt, &r.EndReason, strCol[lockbox.UserID]{&r.EndedBy}, &r.EndComment,
		&r.Version)
	if err != nil {
		return nil, err
	}
	r.Reviews = []lockbox.Review{}
	return &r, nil
}

// GetRequest implements lockbox.Reader. Reviews is never nil.
func (t *tx) GetRequest(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	r, err := scanRequest(t.row(ctx, requestColumns+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("request", string(id))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get request %s: %w", id, err)
	}
	if err := t.loadReviews(ctx, []*lockbox.AccessRequest{r}); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRequests implements lockbox.Reader. The reviews of the whole page are
// read with one query.
func (t *tx) ListRequests(ctx context.Context, f lockbox.RequestFilter) ([]*lockbox.AccessRequest, string, error) {
	var w filter
	if f.TenantID != "" {
		w.eq("tenant_id", f.TenantID)
	}
	if f.TicketID != "" {
		w.eq("ticket_id", f.TicketID)
	}
	if f.RequesterID != "" {
		w.eq("requester_id", f.RequesterID)
	}
	if f.Status != "" {
		w.eq("status", f.Status)
	}
	out, next, err := listPage(ctx, t, "requests", requestColumns, w, f.Page,
		func(r pgx.Rows) (*lockbox.AccessRequest, error) { return scanRequest(r) },
		func(r *lockbox.AccessRequest) (time.Time, string) { return r.CreatedAt, string(r.ID) })
	if err != nil {
		return nil, "", err
	}
	if err := t.loadReviews(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// loadReviews fills the reviews of the requests, in the order they were
// given.
func (t *tx) loadReviews(ctx context.Context, rs []*lockbox.AccessRequest) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[lockbox.RequestID]*lockbox.AccessRequest, len(rs))
	ids := make([]string, len(rs))
	for i, r := range rs {
		byID[r.ID] = r
		ids[i] = string(r.ID)
	}
	err := t.queryEach(ctx, `SELECT request_id, reviewer_id, stage, decision, reason, duration, mfa,
		created_at FROM reviews WHERE request_id = ANY($1) ORDER BY request_id, seq`, []any{ids},
		func(rows pgx.Rows) error {
			var (
				id lockbox.RequestID
				v  lockbox.Review
			)
			if err := rows.Scan(&id, &v.ReviewerID, &v.Stage, &v.Decision, &v.Reason, &v.Duration, &v.MFA,
				&v.CreatedAt); err != nil {
				return err
			}
			if r := byID[id]; r != nil {
				r.Reviews = append(r.Reviews, v)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("postgres: read reviews: %w", err)
	}
	return nil
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
	resources, err := toJSON(r.Resources)
	if err != nil {
		return fmt.Errorf("postgres: create request %s: %w", r.ID, err)
	}
	policy, err := toJSON(r.Policy)
	if err != nil {
		return fmt.Errorf("postgres: create request %s: %w", r.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO requests (id, tenant_id, ticket_id, requester_id, resources,
		access_level, reason_type, justification, requested_duration, status, policy, created_at,
		updated_at, decision_deadline, granted_duration, access_starts_at, access_expires_at, ended_at,
		end_reason, ended_by, end_comment, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 1)`,
		r.ID, r.TenantID, r.TicketID, r.RequesterID, resources, r.AccessLevel, r.ReasonType,
		r.Justification, int64(r.RequestedDuration), r.Status, policy, ts(r.CreatedAt),
		ts(r.UpdatedAt), ts(r.DecisionDeadline), int64(r.GrantedDuration),
		tsPtr(r.AccessStartsAt), tsPtr(r.AccessExpiresAt), tsPtr(r.EndedAt),
		r.EndReason, nullStr(r.EndedBy), r.EndComment)
	if err != nil {
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
	policy, err := toJSON(r.Policy)
	if err != nil {
		return fmt.Errorf("postgres: update request %s: %w", r.ID, err)
	}
	tag, err := t.exec(ctx, `UPDATE requests SET status = $1, policy = $2, updated_at = $3,
		decision_deadline = $4, granted_duration = $5, access_starts_at = $6, access_expires_at = $7,
		ended_at = $8, end_reason = $9, ended_by = $10, end_comment = $11, version = version + 1
		WHERE id = $12 AND version = $13`,
		r.Status, policy, ts(r.UpdatedAt), ts(r.DecisionDeadline), int64(r.GrantedDuration),
		tsPtr(r.AccessStartsAt), tsPtr(r.AccessExpiresAt), tsPtr(r.EndedAt),
		r.EndReason, nullStr(r.EndedBy), r.EndComment, r.ID, r.Version)
	if err != nil {
		return writeErr(err, "update", "request", string(r.ID))
	}
	if tag.RowsAffected() == 0 {
		var stored int64
		err := t.row(ctx, `SELECT version FROM requests WHERE id = $1`, r.ID).Scan(&stored)
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
	if err := t.row(ctx, `SELECT COUNT(*) FROM reviews WHERE request_id = $1`, r.ID).Scan(&stored); err != nil {
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
		_, err := t.exec(ctx, `INSERT INTO reviews (request_id, seq, reviewer_id, stage, decision, reason,
			duration, mfa, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, i, v.ReviewerID, v.Stage, v.Decision, v.Reason, int64(v.Duration), v.MFA, ts(v.CreatedAt))
		if err != nil {
			if violates(err, "reviews_one_per_reviewer") {
				return lockbox.Errorf(lockbox.CodeConflict, "%s already reviewed request %s", v.ReviewerID, r.ID)
			}
			return writeErr(err, fmt.Sprintf("add review %d to", i), "request", string(r.ID))
		}
	}
	return nil
}
