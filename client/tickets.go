package client

import (
	"context"
	"net/url"

	"github.com/lockbox-dev/lockbox"
)

// TicketFilter selects the tickets ListTickets returns. Empty fields select
// all.
type TicketFilter struct {
	TenantID lockbox.TenantID
	Status   lockbox.TicketStatus
	Page     lockbox.Page
}

func (f TicketFilter) query() url.Values {
	q := pageQuery(nil, f.Page)
	setIf(q, "tenant_id", f.TenantID)
	setIf(q, "status", f.Status)
	return q
}

// CreateTicket opens a support ticket for a tenant.
func (c *Client) CreateTicket(ctx context.Context, in lockbox.CreateTicketInput) (*lockbox.Ticket, error) {
	return postID[lockbox.Ticket](ctx, c, in, "/v1/tickets")
}

// GetTicket returns a ticket with its comments and history.
func (c *Client) GetTicket(ctx context.Context, id lockbox.TicketID) (*lockbox.Ticket, error) {
	return getID[lockbox.Ticket](ctx, c, nil, "/v1/tickets/%s", string(id))
}

// ListTickets returns a page of the tickets the filter selects, newest
// first.
func (c *Client) ListTickets(ctx context.Context, f TicketFilter) (*lockbox.List[*lockbox.Ticket], error) {
	return getID[lockbox.List[*lockbox.Ticket]](ctx, c, f.query(), "/v1/tickets")
}

// AddComment adds a note to a ticket and returns it.
func (c *Client) AddComment(ctx context.Context, id lockbox.TicketID, in lockbox.CommentInput) (*lockbox.Comment, error) {
	return postID[lockbox.Comment](ctx, c, in, "/v1/tickets/%s/comments", string(id))
}

// ResolveTicket resolves a ticket, which completes its approved access
// requests and cancels its pending ones, and returns the ticket.
func (c *Client) ResolveTicket(ctx context.Context, id lockbox.TicketID) (*lockbox.Ticket, error) {
	return postID[lockbox.Ticket](ctx, c, nil, "/v1/tickets/%s/resolve", string(id))
}
