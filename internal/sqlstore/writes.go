package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// exec runs a write (query with ? placeholders) and returns the rows it
// touched.
func (t Tx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return t.Q.Exec(ctx, t.D.Q(query), args...)
}

// one checks that an UPDATE touched a row, or reports the row missing.
func one(n int64, kind, id string) error {
	if n == 0 {
		return NotFound(kind, id)
	}
	return nil
}

// CreateTenant implements lockbox.Tx.
func (t Tx) CreateTenant(ctx context.Context, v *lockbox.Tenant) error {
	args, err := TenantInsertArgs(t.D, v)
	if err != nil {
		return fmt.Errorf("%s: create tenant %s: %w", t.D.Name, v.ID, err)
	}
	if _, err = t.exec(ctx, TenantInsert, args...); err != nil {
		return t.D.WriteErr(err, "create", "tenant", string(v.ID))
	}
	return nil
}

// UpdateTenant implements lockbox.Tx. It stores the lockbox settings and
// AdminInvitedAt; a tenant's name and creation time do not change here.
func (t Tx) UpdateTenant(ctx context.Context, v *lockbox.Tenant) error {
	args, err := TenantUpdateArgs(t.D, v)
	if err != nil {
		return fmt.Errorf("%s: update tenant %s: %w", t.D.Name, v.ID, err)
	}
	n, err := t.exec(ctx, TenantUpdate, args...)
	if err != nil {
		return t.D.WriteErr(err, "update", "tenant", string(v.ID))
	}
	return one(n, "tenant", string(v.ID))
}

// CreateTicket implements lockbox.Tx.
func (t Tx) CreateTicket(ctx context.Context, v *lockbox.Ticket) error {
	if _, err := t.exec(ctx, TicketInsert, TicketInsertArgs(t.D, v)...); err != nil {
		return t.D.WriteErr(err, "create", "ticket", string(v.ID))
	}
	return nil
}

// UpdateTicket implements lockbox.Tx. A ticket's tenant, author and creation
// time never change.
func (t Tx) UpdateTicket(ctx context.Context, v *lockbox.Ticket) error {
	n, err := t.exec(ctx, TicketUpdate, TicketUpdateArgs(t.D, v)...)
	if err != nil {
		return t.D.WriteErr(err, "update", "ticket", string(v.ID))
	}
	return one(n, "ticket", string(v.ID))
}

// AddComment implements lockbox.Tx.
func (t Tx) AddComment(ctx context.Context, c *lockbox.Comment) error {
	if _, err := t.exec(ctx, CommentInsert, CommentInsertArgs(t.D, c)...); err != nil {
		return t.D.WriteErr(err, "create", "comment", c.ID)
	}
	return nil
}

// userErr turns a violation of the e-mail index into ErrConflict.
func (t Tx) userErr(err error, u *lockbox.User, op string) error {
	if t.D.Unique(err, "users", "email") {
		return lockbox.Errorf(lockbox.CodeConflict, "a user with e-mail %s already exists", u.Email)
	}
	return t.D.WriteErr(err, op, "user", string(u.ID))
}

// CreateUser implements lockbox.Tx.
func (t Tx) CreateUser(ctx context.Context, u *lockbox.User) error {
	args, err := UserInsertArgs(t.D, u)
	if err != nil {
		return fmt.Errorf("%s: create user %s: %w", t.D.Name, u.ID, err)
	}
	if _, err = t.exec(ctx, UserInsert, args...); err != nil {
		return t.userErr(err, u, "create")
	}
	return nil
}

// UpdateUser implements lockbox.Tx. A user's kind, tenant and creation time
// never change: moving a user between tenants would hand it another
// tenant's approvals.
func (t Tx) UpdateUser(ctx context.Context, u *lockbox.User) error {
	args, err := UserUpdateArgs(t.D, u)
	if err != nil {
		return fmt.Errorf("%s: update user %s: %w", t.D.Name, u.ID, err)
	}
	n, err := t.exec(ctx, UserUpdate, args...)
	if err != nil {
		return t.userErr(err, u, "update")
	}
	return one(n, "user", string(u.ID))
}

// CountUsers implements lockbox.Reader.
func (t Tx) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := t.Q.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: count users: %w", t.D.Name, err)
	}
	return n, nil
}

// GetCredential implements lockbox.Reader.
func (t Tx) GetCredential(ctx context.Context, hash string) (*lockbox.Credential, error) {
	var c lockbox.Credential
	err := t.Q.QueryRow(ctx, t.D.Q(`SELECT id, user_id, kind, name, hash, amr, created_at, expires_at
		FROM credentials WHERE hash = ?`), hash).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.Name, &c.Hash, t.D.JSONDest(&c.AMR), t.D.TimeDest(&c.CreatedAt),
			t.D.NullTimeDest(&c.ExpiresAt))
	if t.D.NoRows(err) {
		// The hash is not named: it identifies a secret.
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "credential not found")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: get credential: %w", t.D.Name, err)
	}
	return &c, nil
}

// CreateCredential implements lockbox.Tx.
func (t Tx) CreateCredential(ctx context.Context, c *lockbox.Credential) error {
	amr, err := ToJSON(c.AMR)
	if err != nil {
		return fmt.Errorf("%s: create credential %s: %w", t.D.Name, c.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO credentials (id, user_id, kind, name, hash, amr, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Kind, c.Name, c.Hash, amr, t.D.Time(c.CreatedAt), t.D.NullTime(c.ExpiresAt))
	if err != nil {
		if t.D.Unique(err, "credentials", "hash") {
			return lockbox.Errorf(lockbox.CodeConflict, "credential %s: the secret's hash is already stored", c.ID)
		}
		return t.D.WriteErr(err, "create", "credential", c.ID)
	}
	return nil
}

// DeleteCredential implements lockbox.Tx.
func (t Tx) DeleteCredential(ctx context.Context, id string) error {
	n, err := t.exec(ctx, `DELETE FROM credentials WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("%s: delete credential %s: %w", t.D.Name, id, err)
	}
	if n == 0 {
		return lockbox.Errorf(lockbox.CodeNotFound, "credential %s not found", id)
	}
	return nil
}

// DeleteCredentials implements lockbox.Tx.
func (t Tx) DeleteCredentials(ctx context.Context, u lockbox.UserID) error {
	if _, err := t.exec(ctx, `DELETE FROM credentials WHERE user_id = ?`, u); err != nil {
		return fmt.Errorf("%s: delete credentials of user %s: %w", t.D.Name, u, err)
	}
	return nil
}

// ListDueRequests implements lockbox.Reader, earliest deadline first; a
// limit of 0 or less means no limit. Each half of the query runs on its own
// partial index, whose predicate it repeats literally so the planner sees
// the index applies.
func (t Tx) ListDueRequests(ctx context.Context, now time.Time, limit int) ([]lockbox.RequestID, error) {
	at := t.D.Time(now)
	out, err := Each(ctx, t.D, t.Q, `SELECT id FROM (
			SELECT id, decision_deadline AS due FROM requests
			WHERE status IN ('pending_internal', 'pending_customer') AND decision_deadline <= ?
			UNION ALL
			SELECT id, access_expires_at AS due FROM requests
			WHERE status = 'approved' AND access_expires_at <= ?
		) AS due ORDER BY due, id LIMIT ?`, []any{at, at, t.D.Limit(limit)},
		func(r Row) (lockbox.RequestID, error) {
			var id lockbox.RequestID
			err := r.Scan(&id)
			return id, err
		})
	if err != nil {
		return nil, fmt.Errorf("%s: list due requests: %w", t.D.Name, err)
	}
	return out, nil
}

// CreateRequest implements lockbox.Tx. It stores r with Version 1, and its
// reviews if it has any.
func (t Tx) CreateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	args, err := RequestInsertArgs(t.D, r)
	if err != nil {
		return fmt.Errorf("%s: create request %s: %w", t.D.Name, r.ID, err)
	}
	if _, err = t.exec(ctx, RequestInsert, args...); err != nil {
		return t.D.WriteErr(err, "create", "request", string(r.ID))
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
// the version check: on SQLite the writer is alone; on PostgreSQL the
// second waits for the first's row lock and then fails with a
// serialisation error, and its re-run reads the new version.
func (t Tx) UpdateRequest(ctx context.Context, r *lockbox.AccessRequest) error {
	args, err := RequestUpdateArgs(t.D, r)
	if err != nil {
		return fmt.Errorf("%s: update request %s: %w", t.D.Name, r.ID, err)
	}
	n, err := t.exec(ctx, RequestUpdate, args...)
	if err != nil {
		return t.D.WriteErr(err, "update", "request", string(r.ID))
	}
	if n == 0 {
		var stored int64
		err := t.Q.QueryRow(ctx, t.D.Q(RequestVersion), r.ID).Scan(&stored)
		if t.D.NoRows(err) {
			return NotFound("request", string(r.ID))
		}
		if err != nil {
			return fmt.Errorf("%s: update request %s: %w", t.D.Name, r.ID, err)
		}
		return lockbox.Errorf(lockbox.CodeConflict,
			"request %s changed since it was read (version %d, read %d): reload it and try again", r.ID, stored, r.Version)
	}

	var stored int
	if err := t.Q.QueryRow(ctx, t.D.Q(ReviewCount), r.ID).Scan(&stored); err != nil {
		return fmt.Errorf("%s: update request %s: %w", t.D.Name, r.ID, err)
	}
	if len(r.Reviews) < stored {
		return fmt.Errorf("%s: update request %s: it has %d stored reviews but %d were given: reviews are append-only",
			t.D.Name, r.ID, stored, len(r.Reviews))
	}
	if err := t.appendReviews(ctx, r, stored); err != nil {
		return err
	}
	r.Version++
	return nil
}

// appendReviews stores r.Reviews[from:], each at its position.
func (t Tx) appendReviews(ctx context.Context, r *lockbox.AccessRequest, from int) error {
	for i := from; i < len(r.Reviews); i++ {
		if _, err := t.exec(ctx, ReviewInsert, ReviewInsertArgs(t.D, r, i)...); err != nil {
			if t.D.Unique(err, "reviews", "reviewer_id") {
				return lockbox.Errorf(lockbox.CodeConflict, "%s already reviewed request %s", r.Reviews[i].ReviewerID, r.ID)
			}
			return t.D.WriteErr(err, fmt.Sprintf("add review %d to", i), "request", string(r.ID))
		}
	}
	return nil
}

// GetUserByEmail implements lockbox.Reader: an active user whose e-mail
// matches without regard to (ASCII) case.
func (t Tx) GetUserByEmail(ctx context.Context, email string) (*lockbox.User, error) {
	u, err := ScanUser(t.D, t.Q.QueryRow(ctx, t.D.Q(UserSelect+` WHERE `+t.D.EmailIs+` AND deleted_at IS NULL`), email))
	if t.D.NoRows(err) {
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "no user with e-mail %s", email)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: get user by e-mail: %w", t.D.Name, err)
	}
	return u, nil
}

// ListComments implements lockbox.Reader: a ticket's comments, oldest first
// (in the order they were added when times tie).
func (t Tx) ListComments(ctx context.Context, id lockbox.TicketID) ([]lockbox.Comment, error) {
	out, err := Each(ctx, t.D, t.Q, `SELECT id, ticket_id, author_id, body, created_at FROM comments
		WHERE ticket_id = ? ORDER BY created_at, `+t.D.CommentSeq, []any{id},
		func(r Row) (lockbox.Comment, error) { return ScanComment(t.D, r) })
	if err != nil {
		return nil, fmt.Errorf("%s: list comments of ticket %s: %w", t.D.Name, id, err)
	}
	return out, nil
}
