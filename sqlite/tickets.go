package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

const ticketColumns = `SELECT id, tenant_id, title, description, severity, status, created_by,
	assignee_id, created_at, updated_at, resolved_at FROM tickets`

func scanTicket(row interface{ Scan(...any) error }) (*lockbox.Ticket, error) {
	var v lockbox.Ticket
	err := row.Scan(&v.ID, &v.TenantID, &v.Title, &v.Description, &v.Severity, &v.Status, &v.CreatedBy,
		strCol[lockbox.UserID]{&v.AssigneeID}, timeCol{&v.CreatedAt}, timeCol{&v.UpdatedAt},
		nullTimeCol{&v.ResolvedAt})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// GetTicket implements lockbox.Reader. Comments and History are left empty:
// ListComments and ListEvents read them.
func (t *tx) GetTicket(ctx context.Context, id lockbox.TicketID) (*lockbox.Ticket, error) {
	v, err := scanTicket(t.queryRow(ctx, ticketColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("ticket", string(id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get ticket %s: %w", id, err)
	}
	return v, nil
}

// ListTickets implements lockbox.Reader.
func (t *tx) ListTickets(ctx context.Context, f lockbox.TicketFilter) ([]*lockbox.Ticket, string, error) {
	var w filter
	if f.TenantID != "" {
		w.add("tenant_id = ?", f.TenantID)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	return listPage(ctx, t, ticketColumns, w, f.Page,
		func(r *sql.Rows) (*lockbox.Ticket, error) { return scanTicket(r) },
		func(v *lockbox.Ticket) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// CreateTicket implements lockbox.Tx.
func (t *tx) CreateTicket(ctx context.Context, v *lockbox.Ticket) error {
	_, err := t.exec(ctx, `INSERT INTO tickets (id, tenant_id, title, description, severity, status,
		created_by, assignee_id, created_at, updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.TenantID, v.Title, v.Description, v.Severity, v.Status, v.CreatedBy, nullStr(v.AssigneeID),
		fmtTime(v.CreatedAt), fmtTime(v.UpdatedAt), fmtNullTime(v.ResolvedAt))
	if err != nil {
		return duplicate(err, "ticket", string(v.ID))
	}
	return nil
}

// UpdateTicket implements lockbox.Tx. A ticket's tenant, author and creation
// time never change.
func (t *tx) UpdateTicket(ctx context.Context, v *lockbox.Ticket) error {
	res, err := t.exec(ctx, `UPDATE tickets SET title = ?, description = ?, severity = ?, status = ?,
		assignee_id = ?, updated_at = ?, resolved_at = ? WHERE id = ?`,
		v.Title, v.Description, v.Severity, v.Status, nullStr(v.AssigneeID), fmtTime(v.UpdatedAt),
		fmtNullTime(v.ResolvedAt), v.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update ticket %s: %w", v.ID, err)
	}
	return one(res, "ticket", string(v.ID))
}

// ListComments implements lockbox.Reader: a ticket's comments, oldest first
// (in the order they were added when times tie).
func (t *tx) ListComments(ctx context.Context, id lockbox.TicketID) ([]lockbox.Comment, error) {
	rows, err := t.query(ctx, `SELECT id, ticket_id, author_id, body, created_at FROM comments
		WHERE ticket_id = ? ORDER BY created_at, rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list comments of ticket %s: %w", id, err)
	}
	defer rows.Close()
	out := []lockbox.Comment{}
	for rows.Next() {
		var c lockbox.Comment
		if err := rows.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.Body, timeCol{&c.CreatedAt}); err != nil {
			return nil, fmt.Errorf("sqlite: list comments of ticket %s: %w", id, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list comments of ticket %s: %w", id, err)
	}
	return out, nil
}

// AddComment implements lockbox.Tx.
func (t *tx) AddComment(ctx context.Context, c *lockbox.Comment) error {
	_, err := t.exec(ctx, `INSERT INTO comments (id, ticket_id, author_id, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.TicketID, c.AuthorID, c.Body, fmtTime(c.CreatedAt))
	if err != nil {
		return duplicate(err, "comment", c.ID)
	}
	return nil
}
