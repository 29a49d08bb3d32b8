package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
)

const ticketColumns = `SELECT id, tenant_id, title, description, severity, status, created_by,
	assignee_id, created_at, updated_at, resolved_at FROM tickets`

func scanTicket(row pgx.Row) (*lockbox.Ticket, error) {
	var v lockbox.Ticket
	err := row.Scan(&v.ID, &v.TenantID, &v.Title, &v.Description, &v.Severity, &v.Status, &v.CreatedBy,
		strCol[lockbox.UserID]{&v.AssigneeID}, &v.CreatedAt, &v.UpdatedAt, &v.ResolvedAt)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// GetTicket implements lockbox.Reader. Comments and History are left empty:
// ListComments and ListEvents read them.
func (t *tx) GetTicket(ctx context.Context, id lockbox.TicketID) (*lockbox.Ticket, error) {
	v, err := scanTicket(t.row(ctx, ticketColumns+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("ticket", string(id))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get ticket %s: %w", id, err)
	}
	return v, nil
}

// ListTickets implements lockbox.Reader.
func (t *tx) ListTickets(ctx context.Context, f lockbox.TicketFilter) ([]*lockbox.Ticket, string, error) {
	var w filter
	if f.TenantID != "" {
		w.eq("tenant_id", f.TenantID)
	}
	if f.Status != "" {
		w.eq("status", f.Status)
	}
	return listPage(ctx, t, "tickets", ticketColumns, w, f.Page,
		func(r pgx.Rows) (*lockbox.Ticket, error) { return scanTicket(r) },
		func(v *lockbox.Ticket) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// CreateTicket implements lockbox.Tx.
func (t *tx) CreateTicket(ctx context.Context, v *lockbox.Ticket) error {
	_, err := t.exec(ctx, `INSERT INTO tickets (id, tenant_id, title, description, severity, status,
		created_by, assignee_id, created_at, updated_at, resolved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		v.ID, v.TenantID, v.Title, v.Description, v.Severity, v.Status, v.CreatedBy, nullStr(v.AssigneeID),
		ts(v.CreatedAt), ts(v.UpdatedAt), tsPtr(v.ResolvedAt))
	if err != nil {
		return writeErr(err, "create", "ticket", string(v.ID))
	}
	return nil
}

// UpdateTicket implements lockbox.Tx. A ticket's tenant, author and creation
// time never change.
func (t *tx) UpdateTicket(ctx context.Context, v *lockbox.Ticket) error {
	tag, err := t.exec(ctx, `UPDATE tickets SET title = $1, description = $2, severity = $3, status = $4,
		assignee_id = $5, updated_at = $6, resolved_at = $7 WHERE id = $8`,
		v.Title, v.Description, v.Severity, v.Status, nullStr(v.AssigneeID), ts(v.UpdatedAt),
		tsPtr(v.ResolvedAt), v.ID)
	if err != nil {
		return writeErr(err, "update", "ticket", string(v.ID))
	}
	return one(tag, "ticket", string(v.ID))
}

// ListComments implements lockbox.Reader: a ticket's comments, oldest first
// (in the order they were added when times tie).
func (t *tx) ListComments(ctx context.Context, id lockbox.TicketID) ([]lockbox.Comment, error) {
	out := []lockbox.Comment{}
	err := t.queryEach(ctx, `SELECT id, ticket_id, author_id, body, created_at FROM comments
		WHERE ticket_id = $1 ORDER BY created_at, seq`, []any{id}, func(rows pgx.Rows) error {
		var c lockbox.Comment
		if err := rows.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.Body, &c.CreatedAt); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list comments of ticket %s: %w", id, err)
	}
	return out, nil
}

// AddComment implements lockbox.Tx.
func (t *tx) AddComment(ctx context.Context, c *lockbox.Comment) error {
	_, err := t.exec(ctx, `INSERT INTO comments (id, ticket_id, author_id, body, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.TicketID, c.AuthorID, c.Body, ts(c.CreatedAt))
	if err != nil {
		return writeErr(err, "create", "comment", c.ID)
	}
	return nil
}
