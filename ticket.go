package lockbox

import (
	"context"
	"time"
)

// TicketStatus is open or resolved.
type TicketStatus string

// Ticket statuses.
const (
	TicketOpen     TicketStatus = "open"
	TicketResolved TicketStatus = "resolved"
)

// Ticket is a support case of a tenant: the "service request" an access
// request is filed for.
type Ticket struct {
	ID          TicketID     `json:"id"`
	TenantID    TenantID     `json:"tenant_id"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Severity    int          `json:"severity"`
	Status      TicketStatus `json:"status"`
	CreatedBy   UserID       `json:"created_by"`
	// CreatedByName is the display name of who opened the ticket, filled
	// when a single ticket is read (never stored), for everyone who may
	// read the ticket: a customer sees which operator staff opened it.
	CreatedByName string `json:"created_by_name,omitempty"`
	// OpenedBy is who opened the ticket (CreatedBy): "customer", one of
	// the tenant's own users, or "operator", the operator's staff, who may
	// open tickets for any tenant with any severity and assignee.
	// SeveritySetBy is likewise who set the current severity, and
	// SeveritySetByUser the user. A JIT policy reads them
	// (context.ticket.opened_by, severity_set_by and whether the requester
	// was that user), so it can tell a fact the customer stated from one
	// the requester chose. They are filled on every read from the record of
	// the user who acted (a user's kind never changes); the severity is set
	// when the ticket is opened and nothing changes it since.
	OpenedBy          UserKind   `json:"opened_by,omitempty"`
	SeveritySetBy     UserKind   `json:"severity_set_by,omitempty"`
	SeveritySetByUser UserID     `json:"severity_set_by_user,omitempty"`
	AssigneeID        UserID     `json:"assignee_id,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	ResolvedAt        *time.Time `json:"resolved_at,omitempty"`
	// Comments and History are filled when a single ticket is read.
	Comments []Comment `json:"comments,omitempty"`
	History  []*Event  `json:"history,omitempty"`
}

// Comment is a note on a ticket.
type Comment struct {
	ID       string   `json:"id"`
	TicketID TicketID `json:"ticket_id"`
	AuthorID UserID   `json:"author_id"`
	// AuthorName is the author's display name, filled on read (never
	// stored).
	AuthorName string    `json:"author_name,omitempty"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// Severity bounds: 1 is critical, 4 is low.
const (
	SeverityCritical = 1
	SeverityLow      = 4
)

// fillTicketFacts fills who opened each ticket and who set its severity
// (OpenedBy, SeveritySetBy, SeveritySetByUser) from the record of the user
// who opened it.
func fillTicketFacts(ctx context.Context, r Reader, tickets ...*Ticket) error {
	kinds := map[UserID]UserKind{}
	for _, t := range tickets {
		k, ok := kinds[t.CreatedBy]
		if !ok {
			u, err := r.GetUser(ctx, t.CreatedBy)
			if err != nil {
				return err
			}
			k = u.Kind
			kinds[t.CreatedBy] = k
		}
		t.OpenedBy, t.SeveritySetBy, t.SeveritySetByUser = k, k, t.CreatedBy
	}
	return nil
}
