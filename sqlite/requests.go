package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lockbox-dev/lockbox"
)

const requestColumns = `SELECT id, tenant_id, ticket_id, requester_id, resources, access_level,
	reason_type, justification, requested_duration, status, policy, created_at, updated_at,
	decision_deadline, granted_duration, access_starts_at, access_expires_at, ended_at, end_reason,
	ended_by, end_comment, version FROM requests`

func scanRequest(row interface{ Scan(...any) error }) (*lockbox.AccessRequest, error) {
	var r lockbox.AccessRequest
	err := row.Scan(&r.ID, &r.TenantID, &r.TicketID, &r.RequesterID, jsonCol{&r.Resources},
		&r.AccessLevel, &r.ReasonType, &r.Justification, &r.RequestedDuration, &r.Status,
		jsonCol{&r.Policy}, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt}, timeCol{&r.DecisionDeadline},
		&r.GrantedDuration, nullTimeCol{&r.AccessStartsAt}, nullTimeCol{&r.AccessExpiresAt},
		nullTimeCol{&r.EndedAt}, &r.EndReason, strCol[lockbox.UserID]{&r.EndedBy}, &r.EndComment,
		&r.Version)
	if err != nil {
		return nil, err
	}
	r.Reviews = []lockbox.Review{}
	return &r, nil
}

// GetRequest implements lockbox.Reader. Reviews is never nil.
func (t *tx) GetRequest(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	r, err := scanRequest(t.queryRow(ctx, requestColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("request", string(id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get request %s: %w", id, err)
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
		w.add("tenant_id = ?", f.TenantID)
	}
	if f.TicketID != "" {
		w.add("ticket_id = ?", f.TicketID)
	}
	if f.RequesterID != "" {
		w.add("requester_id = ?", f.RequesterID)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	out, next, err := listPage(ctx, t, requestColumns, w, f.Page,
		func(r *sql.Rows) (*lockbox.AccessRequest, error) { return scanRequest(r) },
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
	args := make([]any, len(rs))
	for i, r := range rs {
		byID[r.ID] = r
		args[i] = r.ID
	}
	marks := strings.Repeat("?, ", len(rs)-1) + "?"
	rows, err := t.query(ctx, `SELECT request_id, reviewer_id, stage, decision, reason, duration, mfa,
		created_at FROM reviews WHERE request_id IN (`+marks+`) ORDER BY request_id, seq`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: read reviews: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id lockbox.RequestID
			v  lockbox.Review
		)
		if err := rows.Scan(&id, &v.ReviewerID, &v.Stage, &v.Decision, &v.Reason, &v.Duration, &v.MFA,
			timeCol{&v.CreatedAt}); err != nil {
			return fmt.Errorf("sqlite: read reviews: %w", err)
		}
		if r := byID[id]; r != nil {
			r.Reviews = append(r.Reviews, v)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: read reviews: %w", err)
	}
	return nil
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

// requestJSON marshals the JSON columns of a request.
func requestJSON(r *lockbox.AccessRequest) (resources, policy string, err error) {
	if resources, err = toJSON(r.Resources); err != nil {
		return "", "", err
	}
	if policy, err = toJSON(r.Policy); err != nil {
		return "", "", err
	}
	return resources, policy, nil
}

// CreateRequest implements lockbox.Tx. It stores r with Version 1, and its
// reviews if it has any.
func (t *tx) CreateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	resources, policy, err := requestJSON(r)
	if err != nil {
		return fmt.Errorf("sqlite: create request %s: %w", r.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO requests (id, tenant_id, ticket_id, requester_id, resources,
		access_level, reason_type, justification, requested_duration, status, policy, created_at,
		updated_at, decision_deadline, granted_duration, access_starts_at, access_expires_at, ended_at,
		end_reason, ended_by, end_comment, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		r.ID, r.TenantID, r.TicketID, r.RequesterID, resources, r.AccessLevel, r.ReasonType,
		r.Justification, int64(r.RequestedDuration), r.Status, policy, fmtTime(r.CreatedAt),
		fmtTime(r.UpdatedAt), fmtTime(r.DecisionDeadline), int64(r.GrantedDuration),
		fmtNullTime(r.AccessStartsAt), fmtNullTime(r.AccessExpiresAt), fmtNullTime(r.EndedAt),
		r.EndReason, nullStr(r.EndedBy), r.EndComment)
	if err != nil {
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
	policy, err := toJSON(r.Policy)
	if err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	res, err := t.exec(ctx, `UPDATE requests SET status = ?, policy = ?, updated_at = ?,
		decision_deadline = ?, granted_duration = ?, access_starts_at = ?, access_expires_at = ?,
		ended_at = ?, end_reason = ?, ended_by = ?, end_comment = ?, version = version + 1
		WHERE id = ? AND version = ?`,
		r.Status, policy, fmtTime(r.UpdatedAt), fmtTime(r.DecisionDeadline), int64(r.GrantedDuration),
		fmtNullTime(r.AccessStartsAt), fmtNullTime(r.AccessExpiresAt), fmtNullTime(r.EndedAt),
		r.EndReason, nullStr(r.EndedBy), r.EndComment, r.ID, r.Version)
	if err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update request %s: %w", r.ID, err)
	}
	if n == 0 {
		var stored int64
		err := t.queryRow(ctx, `SELECT version FROM requests WHERE id = ?`, r.ID).Scan(&stored)
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
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM reviews WHERE request_id = ?`, r.ID).Scan(&stored); err != nil {
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
		_, err := t.exec(ctx, `INSERT INTO reviews (request_id, seq, reviewer_id, stage, decision, reason,
			duration, mfa, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, i, v.ReviewerID, v.Stage, v.Decision, v.Reason, int64(v.Duration), v.MFA, fmtTime(v.CreatedAt))
		if err != nil {
			if msg, ok := isUnique(err); ok && strings.Contains(msg, "reviews.reviewer_id") {
				return lockbox.Errorf(lockbox.CodeConflict, "%s already reviewed request %s", v.ReviewerID, r.ID)
			}
			return fmt.Errorf("sqlite: add review %d of request %s: %w", i, r.ID, err)
		}
	}
	return nil
}
