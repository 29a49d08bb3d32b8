package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// ToJSON marshals a value for a JSON column.
func ToJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// nullText scans a nullable text column into a string type; NULL is "".
func nullText[T ~string](d *Dialect, p *T, fill *[]func()) any {
	var s string
	*fill = append(*fill, func() { *p = T(s) })
	return d.TextDest(&s)
}

// Tenants.

const (
	TenantSelect = `SELECT id, name, settings, created_at, admin_invited_at FROM tenants`
	TenantInsert = `INSERT INTO tenants (id, name, settings, created_at, admin_invited_at) VALUES (?, ?, ?, ?, ?)`
	TenantUpdate = `UPDATE tenants SET settings = ?, admin_invited_at = ? WHERE id = ?`
)

// ScanTenant scans a row of TenantSelect.
func ScanTenant(d *Dialect, row Row) (*lockbox.Tenant, error) {
	var v lockbox.Tenant
	if err := row.Scan(&v.ID, &v.Name, d.JSONDest(&v.Lockbox), d.TimeDest(&v.CreatedAt),
		d.NullTimeDest(&v.AdminInvitedAt)); err != nil {
		return nil, err
	}
	return &v, nil
}

// TenantInsertArgs and TenantUpdateArgs are the arguments of TenantInsert
// and TenantUpdate.
func TenantInsertArgs(d *Dialect, v *lockbox.Tenant) ([]any, error) {
	settings, err := ToJSON(v.Lockbox)
	if err != nil {
		return nil, err
	}
	return []any{v.ID, v.Name, settings, d.Time(v.CreatedAt), d.NullTime(v.AdminInvitedAt)}, nil
}

func TenantUpdateArgs(d *Dialect, v *lockbox.Tenant) ([]any, error) {
	settings, err := ToJSON(v.Lockbox)
	if err != nil {
		return nil, err
	}
	return []any{settings, d.NullTime(v.AdminInvitedAt), v.ID}, nil
}

// GetTenant and ListTenants implement lockbox.Reader's methods.
func (t Tx) GetTenant(ctx context.Context, id lockbox.TenantID) (*lockbox.Tenant, error) {
	d, q := t.D, t.Q
	return Get(ctx, d, q, "tenant", string(id), TenantSelect+` WHERE id = ?`,
		func(r Row) (*lockbox.Tenant, error) { return ScanTenant(d, r) })
}

func (t Tx) ListTenants(ctx context.Context, f lockbox.TenantFilter) ([]*lockbox.Tenant, string, error) {
	d, q := t.D, t.Q
	var w Filter
	if f.ID != "" {
		w.Eq("id", f.ID)
	}
	return ListPage(ctx, d, q, "tenants", TenantSelect, w, f.Page,
		func(r Row) (*lockbox.Tenant, error) { return ScanTenant(d, r) },
		func(v *lockbox.Tenant) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// Tickets.

const (
	TicketSelect = `SELECT id, tenant_id, title, description, severity, status, created_by,
	assignee_id, created_at, updated_at, resolved_at FROM tickets`
	TicketInsert = `INSERT INTO tickets (id, tenant_id, title, description, severity, status,
		created_by, assignee_id, created_at, updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	TicketUpdate = `UPDATE tickets SET title = ?, description = ?, severity = ?, status = ?,
		assignee_id = ?, updated_at = ?, resolved_at = ? WHERE id = ?`
	CommentInsert = `INSERT INTO comments (id, ticket_id, author_id, body, created_at) VALUES (?, ?, ?, ?, ?)`
)

// ScanTicket scans a row of TicketSelect.
func ScanTicket(d *Dialect, row Row) (*lockbox.Ticket, error) {
	var (
		v    lockbox.Ticket
		fill []func()
	)
	err := row.Scan(&v.ID, &v.TenantID, &v.Title, &v.Description, &v.Severity, &v.Status, &v.CreatedBy,
		nullText(d, &v.AssigneeID, &fill), d.TimeDest(&v.CreatedAt), d.TimeDest(&v.UpdatedAt),
		d.NullTimeDest(&v.ResolvedAt))
	if err != nil {
		return nil, err
	}
	for _, f := range fill {
		f()
	}
	return &v, nil
}

// TicketInsertArgs and TicketUpdateArgs are the arguments of TicketInsert
// and TicketUpdate.
func TicketInsertArgs(d *Dialect, v *lockbox.Ticket) []any {
	return []any{v.ID, v.TenantID, v.Title, v.Description, v.Severity, v.Status, v.CreatedBy,
		NullStr(v.AssigneeID), d.Time(v.CreatedAt), d.Time(v.UpdatedAt), d.NullTime(v.ResolvedAt)}
}

func TicketUpdateArgs(d *Dialect, v *lockbox.Ticket) []any {
	return []any{v.Title, v.Description, v.Severity, v.Status, NullStr(v.AssigneeID), d.Time(v.UpdatedAt),
		d.NullTime(v.ResolvedAt), v.ID}
}

// CommentInsertArgs are the arguments of CommentInsert.
func CommentInsertArgs(d *Dialect, c *lockbox.Comment) []any {
	return []any{c.ID, c.TicketID, c.AuthorID, c.Body, d.Time(c.CreatedAt)}
}

// GetTicket and ListTickets implement lockbox.Reader's methods.
func (t Tx) GetTicket(ctx context.Context, id lockbox.TicketID) (*lockbox.Ticket, error) {
	d, q := t.D, t.Q
	return Get(ctx, d, q, "ticket", string(id), TicketSelect+` WHERE id = ?`,
		func(r Row) (*lockbox.Ticket, error) { return ScanTicket(d, r) })
}

func (t Tx) ListTickets(ctx context.Context, f lockbox.TicketFilter) ([]*lockbox.Ticket, string, error) {
	d, q := t.D, t.Q
	var w Filter
	if f.TenantID != "" {
		w.Eq("tenant_id", f.TenantID)
	}
	if f.Status != "" {
		w.Eq("status", f.Status)
	}
	return ListPage(ctx, d, q, "tickets", TicketSelect, w, f.Page,
		func(r Row) (*lockbox.Ticket, error) { return ScanTicket(d, r) },
		func(v *lockbox.Ticket) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// ScanComment scans id, ticket_id, author_id, body, created_at.
func ScanComment(d *Dialect, row Row) (lockbox.Comment, error) {
	var c lockbox.Comment
	err := row.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.Body, d.TimeDest(&c.CreatedAt))
	return c, err
}

// Users.

const (
	UserSelect = `SELECT id, kind, email, display_name, tenant_id, roles, user_groups, isolated,
	totp_enabled, password_hash, totp_secret, totp_pending, totp_last_step, created_at, updated_at,
	deleted_at FROM users`
	UserInsert = `INSERT INTO users (id, kind, email, display_name, tenant_id, roles, user_groups,
		isolated, totp_enabled, password_hash, totp_secret, totp_pending, totp_last_step, created_at,
		updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	UserUpdate = `UPDATE users SET email = ?, display_name = ?, roles = ?, user_groups = ?,
		isolated = ?, totp_enabled = ?, password_hash = ?, totp_secret = ?, totp_pending = ?,
		totp_last_step = ?, updated_at = ?, deleted_at = ? WHERE id = ?`
)

// ScanUser scans a row of UserSelect.
func ScanUser(d *Dialect, row Row) (*lockbox.User, error) {
	var (
		u    lockbox.User
		fill []func()
	)
	err := row.Scan(&u.ID, &u.Kind, &u.Email, &u.DisplayName, nullText(d, &u.TenantID, &fill),
		d.JSONDest(&u.Roles), d.JSONDest(&u.Groups), &u.Isolated, &u.TOTPEnabled, &u.PasswordHash,
		&u.TOTPSecret, &u.TOTPPending, &u.TOTPLastStep, d.TimeDest(&u.CreatedAt), d.TimeDest(&u.UpdatedAt),
		d.NullTimeDest(&u.DeletedAt))
	if err != nil {
		return nil, err
	}
	for _, f := range fill {
		f()
	}
	return &u, nil
}

func userJSON(u *lockbox.User) (roles, groups string, err error) {
	if roles, err = ToJSON(u.Roles); err != nil {
		return "", "", err
	}
	if groups, err = ToJSON(u.Groups); err != nil {
		return "", "", err
	}
	return roles, groups, nil
}

// UserInsertArgs and UserUpdateArgs are the arguments of UserInsert and
// UserUpdate.
func UserInsertArgs(d *Dialect, u *lockbox.User) ([]any, error) {
	roles, groups, err := userJSON(u)
	if err != nil {
		return nil, err
	}
	return []any{u.ID, u.Kind, u.Email, u.DisplayName, NullStr(u.TenantID), roles, groups, u.Isolated,
		u.TOTPEnabled, u.PasswordHash, u.TOTPSecret, u.TOTPPending, u.TOTPLastStep,
		d.Time(u.CreatedAt), d.Time(u.UpdatedAt), d.NullTime(u.DeletedAt)}, nil
}

func UserUpdateArgs(d *Dialect, u *lockbox.User) ([]any, error) {
	roles, groups, err := userJSON(u)
	if err != nil {
		return nil, err
	}
	return []any{u.Email, u.DisplayName, roles, groups, u.Isolated, u.TOTPEnabled, u.PasswordHash,
		u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, d.Time(u.UpdatedAt), d.NullTime(u.DeletedAt), u.ID}, nil
}

// GetUser and ListUsers implement lockbox.Reader's methods; ListUsers
// lists active users only unless asked for removed ones too.
func (t Tx) GetUser(ctx context.Context, id lockbox.UserID) (*lockbox.User, error) {
	d, q := t.D, t.Q
	return Get(ctx, d, q, "user", string(id), UserSelect+` WHERE id = ?`,
		func(r Row) (*lockbox.User, error) { return ScanUser(d, r) })
}

func (t Tx) ListUsers(ctx context.Context, f lockbox.UserFilter) ([]*lockbox.User, string, error) {
	d, q := t.D, t.Q
	w := Filter{conds: []string{"deleted_at IS NULL"}}
	if f.WithRemoved {
		w.conds = nil
	}
	if f.Kind != "" {
		w.Eq("kind", f.Kind)
	}
	if f.TenantID != "" {
		w.Eq("tenant_id", f.TenantID)
	}
	return ListPage(ctx, d, q, "users", UserSelect, w, f.Page,
		func(r Row) (*lockbox.User, error) { return ScanUser(d, r) },
		func(v *lockbox.User) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// Requests.

const (
	RequestSelect = `SELECT id, tenant_id, ticket_id, requester_id, resources, access_level,
	reason_type, justification, requested_duration, status, policy, created_at, updated_at,
	decision_deadline, granted_duration, access_starts_at, access_expires_at, ended_at, end_reason,
	ended_by, end_comment, version FROM requests`
	RequestInsert = `INSERT INTO requests (id, tenant_id, ticket_id, requester_id, resources,
		access_level, reason_type, justification, requested_duration, status, policy, created_at,
		updated_at, decision_deadline, granted_duration, access_starts_at, access_expires_at, ended_at,
		end_reason, ended_by, end_comment, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`
	RequestUpdate = `UPDATE requests SET status = ?, policy = ?, updated_at = ?,
		decision_deadline = ?, granted_duration = ?, access_starts_at = ?, access_expires_at = ?,
		ended_at = ?, end_reason = ?, ended_by = ?, end_comment = ?, version = version + 1
		WHERE id = ? AND version = ?`
	RequestVersion = `SELECT version FROM requests WHERE id = ?`
	ReviewCount    = `SELECT COUNT(*) FROM reviews WHERE request_id = ?`
	ReviewInsert   = `INSERT INTO reviews (request_id, seq, reviewer_id, stage, decision, reason,
			duration, mfa, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// ScanRequest scans a row of RequestSelect. Reviews is empty, not nil.
func ScanRequest(d *Dialect, row Row) (*lockbox.AccessRequest, error) {
	var (
		r    lockbox.AccessRequest
		fill []func()
	)
	err := row.Scan(&r.ID, &r.TenantID, &r.TicketID, &r.RequesterID, d.JSONDest(&r.Resources),
		&r.AccessLevel, &r.ReasonType, &r.Justification, &r.RequestedDuration, &r.Status,
		d.JSONDest(&r.Policy), d.TimeDest(&r.CreatedAt), d.TimeDest(&r.UpdatedAt), d.TimeDest(&r.DecisionDeadline),
		&r.GrantedDuration, d.NullTimeDest(&r.AccessStartsAt), d.NullTimeDest(&r.AccessExpiresAt),
		d.NullTimeDest(&r.EndedAt), &r.EndReason, nullText(d, &r.EndedBy, &fill), &r.EndComment,
		&r.Version)
	if err != nil {
		return nil, err
	}
	for _, f := range fill {
		f()
	}
	r.Reviews = []lockbox.Review{}
	return &r, nil
}

// RequestInsertArgs, RequestUpdateArgs and ReviewInsertArgs are the
// arguments of RequestInsert, RequestUpdate and ReviewInsert.
func RequestInsertArgs(d *Dialect, r *lockbox.AccessRequest) ([]any, error) {
	resources, err := ToJSON(r.Resources)
	if err != nil {
		return nil, err
	}
	policy, err := ToJSON(r.Policy)
	if err != nil {
		return nil, err
	}
	return []any{r.ID, r.TenantID, r.TicketID, r.RequesterID, resources, r.AccessLevel, r.ReasonType,
		r.Justification, int64(r.RequestedDuration), r.Status, policy, d.Time(r.CreatedAt),
		d.Time(r.UpdatedAt), d.Time(r.DecisionDeadline), int64(r.GrantedDuration),
		d.NullTime(r.AccessStartsAt), d.NullTime(r.AccessExpiresAt), d.NullTime(r.EndedAt),
		r.EndReason, NullStr(r.EndedBy), r.EndComment}, nil
}

func RequestUpdateArgs(d *Dialect, r *lockbox.AccessRequest) ([]any, error) {
	policy, err := ToJSON(r.Policy)
	if err != nil {
		return nil, err
	}
	return []any{r.Status, policy, d.Time(r.UpdatedAt), d.Time(r.DecisionDeadline), int64(r.GrantedDuration),
		d.NullTime(r.AccessStartsAt), d.NullTime(r.AccessExpiresAt), d.NullTime(r.EndedAt),
		r.EndReason, NullStr(r.EndedBy), r.EndComment, r.ID, r.Version}, nil
}

func ReviewInsertArgs(d *Dialect, r *lockbox.AccessRequest, i int) []any {
	v := r.Reviews[i]
	return []any{r.ID, i, v.ReviewerID, v.Stage, v.Decision, v.Reason, int64(v.Duration), v.MFA, d.Time(v.CreatedAt)}
}

// GetRequest implements lockbox.Reader's method. Reviews is never nil.
func (t Tx) GetRequest(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	d, q := t.D, t.Q
	r, err := Get(ctx, d, q, "request", string(id), RequestSelect+` WHERE id = ?`,
		func(row Row) (*lockbox.AccessRequest, error) { return ScanRequest(d, row) })
	if err != nil {
		return nil, err
	}
	if err := t.LoadReviews(ctx, []*lockbox.AccessRequest{r}); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRequests implements lockbox.Reader's method. The reviews of the
// whole page are read with one query.
func (t Tx) ListRequests(ctx context.Context, f lockbox.RequestFilter) ([]*lockbox.AccessRequest, string, error) {
	d, q := t.D, t.Q
	var w Filter
	if f.TenantID != "" {
		w.Eq("tenant_id", f.TenantID)
	}
	if f.TicketID != "" {
		w.Eq("ticket_id", f.TicketID)
	}
	if f.RequesterID != "" {
		w.Eq("requester_id", f.RequesterID)
	}
	if f.Status != "" {
		w.Eq("status", f.Status)
	}
	out, next, err := ListPage(ctx, d, q, "requests", RequestSelect, w, f.Page,
		func(r Row) (*lockbox.AccessRequest, error) { return ScanRequest(d, r) },
		func(r *lockbox.AccessRequest) (time.Time, string) { return r.CreatedAt, string(r.ID) })
	if err != nil {
		return nil, "", err
	}
	if err := t.LoadReviews(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// LoadReviews fills the reviews of the requests, in the order they were
// given.
func (t Tx) LoadReviews(ctx context.Context, rs []*lockbox.AccessRequest) error {
	d, q := t.D, t.Q
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[lockbox.RequestID]*lockbox.AccessRequest, len(rs))
	ids := make([]string, len(rs))
	for i, r := range rs {
		byID[r.ID] = r
		ids[i] = string(r.ID)
	}
	in, args := d.In("request_id", ids)
	err := q.QueryEach(ctx, d.Q(`SELECT request_id, reviewer_id, stage, decision, reason, duration, mfa,
		created_at FROM reviews WHERE `+in+` ORDER BY request_id, seq`), args, func(row Row) error {
		var (
			id lockbox.RequestID
			v  lockbox.Review
		)
		if err := row.Scan(&id, &v.ReviewerID, &v.Stage, &v.Decision, &v.Reason, &v.Duration, &v.MFA,
			d.TimeDest(&v.CreatedAt)); err != nil {
			return err
		}
		if r := byID[id]; r != nil {
			r.Reviews = append(r.Reviews, v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: read reviews: %w", d.Name, err)
	}
	return nil
}
