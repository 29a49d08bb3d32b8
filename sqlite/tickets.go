package sqlite

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetTicket implements lockbox.Reader. Comments and History are left empty:
// ListComments and ListEvents read them.
func (t *tx) GetTicket(ctx context.Context, id lockbox.TicketID) (*lockbox.Ticket, error) {
	return sqlstore.GetTicket(ctx, dialect, t, id)
}

// ListTickets implements lockbox.Reader.
func (t *tx) ListTickets(ctx context.Context, f lockbox.TicketFilter) ([]*lockbox.Ticket, string, error) {
	return sqlstore.ListTickets(ctx, dialect, t, f)
}

// CreateTicket implements lockbox.Tx.
func (t *tx) CreateTicket(ctx context.Context, v *lockbox.Ticket) error {
	if _, err := t.exec(ctx, sqlstore.TicketInsert, sqlstore.TicketInsertArgs(dialect, v)...); err != nil {
		return duplicate(err, "ticket", string(v.ID))
	}
	return nil
}

// UpdateTicket implements lockbox.Tx. A ticket's tenant, author and creation
// time never change.
func (t *tx) UpdateTicket(ctx context.Context, v *lockbox.Ticket) error {
	res, err := t.exec(ctx, sqlstore.TicketUpdate, sqlstore.TicketUpdateArgs(dialect, v)...)
	if err != nil {
		return fmt.Errorf("sqlite: update ticket %s: %w", v.ID, err)
	}
	return one(res, "ticket", string(v.ID))
}

// ListComments implements lockbox.Reader: a ticket's comments, oldest first
// (in the order they were added when times tie).
func (t *tx) ListComments(ctx context.Context, id lockbox.TicketID) ([]lockbox.Comment, error) {
	out, err := sqlstore.Each(ctx, dialect, t, `SELECT id, ticket_id, author_id, body, created_at FROM comments
		WHERE ticket_id = ? ORDER BY created_at, rowid`, []any{id},
		func(r sqlstore.Row) (lockbox.Comment, error) { return sqlstore.ScanComment(dialect, r) })
	if err != nil {
		return nil, fmt.Errorf("sqlite: list comments of ticket %s: %w", id, err)
	}
	return out, nil
}

// AddComment implements lockbox.Tx.
func (t *tx) AddComment(ctx context.Context, c *lockbox.Comment) error {
	if _, err := t.exec(ctx, sqlstore.CommentInsert, sqlstore.CommentInsertArgs(dialect, c)...); err != nil {
		return duplicate(err, "comment", c.ID)
	}
	return nil
}
